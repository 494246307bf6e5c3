using System.Diagnostics;
using System.Globalization;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.Bench.Eligibility;

/// <summary>
/// Times EligibilityEngine.Evaluate on a patient with 2,000 Observations and 200 Conditions (issue 3 target: &lt; 5 ms per evaluation).
/// Prints mean, median, p95 and allocation per evaluation.
/// </summary>
public static class EligibilityBench
{
    public static void Run()
    {
        var engine = new EligibilityEngine(EligibilityData.LoadEmbedded());
        var at = new DateTimeOffset(2026, 6, 15, 9, 0, 0, TimeSpan.Zero);
        var record = LargePatient(at);
        var inputs = new EligibilityInputs(at, PreScoreState.Computed(0.72));

        var first = engine.Evaluate(record, inputs);
        for (var i = 0; i < 200; i++)
        {
            engine.Evaluate(record, inputs);
        }

        const int n = 1000;
        var times = new double[n];
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        // CPU time as well as wall time: on a shared machine wall time includes waiting for a core.
        var cpuBefore = Environment.CpuUsage.TotalTime;
        for (var i = 0; i < n; i++)
        {
            var start = Stopwatch.GetTimestamp();
            engine.Evaluate(record, inputs);
            times[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        var cpuPerEvaluation = (Environment.CpuUsage.TotalTime - cpuBefore).TotalMilliseconds / n;
        var allocated = (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / n;
        Array.Sort(times);
        string F(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
        Console.WriteLine($"eligibility: {record.Observations.Count} observations, {record.Conditions.Count} conditions, outcome {first.Outcome.ToWire()}");
        Console.WriteLine($"eligibility: evaluate mean {F(times.Average())} ms, median {F(times[n / 2])} ms, p95 {F(times[(int)(n * 0.95)])} ms, process CPU {F(cpuPerEvaluation)} ms, {allocated / 1024} KiB allocated per evaluation (n={n})");
    }

    /// <summary>A long-followed patient: many lab series, vitals and past conditions, with one current value of each datum.</summary>
    public static PatientRecord LargePatient(DateTimeOffset at)
    {
        var observations = new List<Observation>();
        (string Loinc, decimal Value, string Unit)[] labs =
        [
            ("1975-2", 0.8m, "mg/dL"), ("1751-7", 4.1m, "g/dL"), ("6301-6", 1.1m, "{INR}"), ("2160-0", 0.9m, "mg/dL"),
            ("98979-8", 88m, "mL/min/{1.73_m2}"), ("1834-1", 220m, "ng/mL"), ("777-3", 165m, "10*3/uL"), ("2345-7", 5.4m, "mmol/L"),
        ];
        var id = 0;
        while (observations.Count < 1800)
        {
            foreach (var (loinc, value, unit) in labs)
            {
                // One series per lab, every 3 days back from the evaluation date.
                var when = at.AddDays(-3 * (observations.Count / labs.Length) - 1);
                observations.Add(new Observation
                {
                    Id = $"o{id++}",
                    Status = ObservationStatus.Final,
                    Code = new CodeableConcept("http://loinc.org", loinc),
                    Effective = new FhirDateTime(when),
                    Value = new Quantity(value, unit),
                });
            }
        }

        for (var i = 0; observations.Count < 1990; i++)
        {
            observations.Add(new Observation
            {
                Id = $"o{id++}",
                Status = ObservationStatus.Final,
                Code = new CodeableConcept("http://loinc.org", "85354-9"),
                Effective = new FhirDateTime(at.AddDays(-2 * i - 1)),
                Component =
                [
                    new() { Code = new CodeableConcept("http://loinc.org", "8480-6"), Value = new Quantity(128, "mm[Hg]") },
                    new() { Code = new CodeableConcept("http://loinc.org", "8462-4"), Value = new Quantity(80, "mm[Hg]") },
                ],
            });
        }

        var obsSystem = "https://cdsrisk.example.org/fhir/CodeSystem/observation";
        Observation Coded(string system, string code, DataType value) => new()
        {
            Id = $"o{id++}",
            Status = ObservationStatus.Final,
            Code = new CodeableConcept(system, code),
            Effective = new FhirDateTime(at.AddDays(-5)),
            Value = value,
        };
        observations.Add(Coded("http://loinc.org", "89247-1", new CodeableConcept("http://loinc.org", "LA9622-7")));
        observations.Add(Coded(obsSystem, "ascites-grade", new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/ascites-grade", "none")));
        observations.Add(Coded(obsSystem, "hepatic-encephalopathy-grade", new Integer(0)));
        observations.Add(Coded(obsSystem, "hcc-nodule-count", new Integer(1)));
        observations.Add(Coded("http://loinc.org", "33728-7", new Quantity(3.2m, "cm")));
        while (observations.Count < 2000)
        {
            observations.Add(Coded("http://loinc.org", "8310-5", new Quantity(36.8m, "Cel")));
        }

        var conditions = new List<Condition>
        {
            new()
            {
                Id = "hcc",
                Code = new CodeableConcept("http://snomed.info/sct", "25370001", "Hepatocellular carcinoma"),
                ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
                VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
                Evidence = [new Condition.EvidenceComponent { Code = [new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/hcc-diagnosis-basis", "histology")] }],
                Stage = [new Condition.StageComponent { Summary = new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/bclc", "A") }],
            },
        };
        string[] past = ["J45.909|Asthma", "K74.60|Cirrhosis of liver", "E11.9|Type 2 diabetes mellitus", "B18.1|Chronic viral hepatitis B", "M54.5|Low back pain"];
        for (var i = 1; conditions.Count < 200; i++)
        {
            var parts = past[i % past.Length].Split('|');
            conditions.Add(new Condition
            {
                Id = $"c{i}",
                Code = new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", parts[0], parts[1], parts[1]),
                ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", i % 3 == 0 ? "resolved" : "active"),
                RecordedDate = at.AddDays(-10 * i).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            });
        }

        return new PatientRecord
        {
            Patient = new Patient { Id = "p1", Gender = AdministrativeGender.Male, BirthDate = "1966-03-10" },
            Observations = observations,
            Conditions = conditions,
            ServiceRequests =
            [
                new ServiceRequest
                {
                    Id = "resect",
                    Status = RequestStatus.Active,
                    Intent = RequestIntent.Order,
                    Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "47120"),
                    Occurrence = new FhirDateTime(at.AddDays(10)),
                },
            ],
            ImagingStudies =
            [
                new ImagingStudy
                {
                    Id = "mri",
                    Status = ImagingStudy.ImagingStudyStatus.Available,
                    Started = at.AddDays(-14).ToString("yyyy-MM-ddTHH:mm:ssK", CultureInfo.InvariantCulture),
                    Modality = [new Coding("http://dicom.nema.org/resources/ontology/DCM", "MR")],
                    Series = [.. Enumerable.Range(1, 4).Select(n => new ImagingStudy.SeriesComponent { Uid = $"1.2.3.{n}", Modality = new Coding("http://dicom.nema.org/resources/ontology/DCM", "MR") })],
                },
            ],
        };
    }
}
