using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Eligibility;

/// <summary>Odd or broken resources end in unknown criteria with reasons, never in an exception.</summary>
public sealed class MalformedRecordTests
{
    private static readonly DateTimeOffset At = new(2026, 6, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly EligibilityEngine Engine = new(EligibilityData.LoadEmbedded());

    public static TheoryData<string> Cases() =>
    [
        "empty", "no-ids", "garbage-values", "huge-values", "future-birth", "bad-dates",
    ];

    private static PatientRecord Build(string kind)
    {
        static Observation O(string loinc, DataType? value, DataType? effective, string? id = "x") => new()
        {
            Id = id,
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", loinc),
            Effective = effective,
            Value = value,
        };
        var now = new FhirDateTime(At.AddDays(-1));
        return kind switch
        {
            "empty" => new PatientRecord { Patient = new Patient() },
            "no-ids" => new PatientRecord
            {
                Patient = new Patient { BirthDate = "1960-01-01" },
                Observations = [new Observation(), O("1751-7", new Quantity(40, "g/L"), now, null)],
                Conditions = [new Condition(), new Condition { Code = new CodeableConcept() }],
                Allergies = [new AllergyIntolerance(), new AllergyIntolerance { Reaction = [new AllergyIntolerance.ReactionComponent()] }],
                ImagingStudies = [new ImagingStudy()],
                ServiceRequests = [new ServiceRequest()],
                Appointments = [new Appointment()],
                Procedures = [new Procedure()],
                DraftOrders = [new MedicationRequest(), new ServiceRequest()],
            },
            "garbage-values" => new PatientRecord
            {
                Patient = new Patient { Id = "p", BirthDate = "not-a-date" },
                Observations =
                [
                    O("1975-2", new FhirString("high"), now), O("1751-7", new Quantity { Value = null, Unit = "g/L" }, now),
                    O("89247-1", new CodeableConcept("http://example.org", "zero"), now), O("85354-9", null, now),
                    O("33728-7", new Integer(3), now), new Observation { Id = "t", Status = ObservationStatus.Final, Code = new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/observation", "hcc-nodule-count"), Effective = now, Value = new Integer(-2) },
                    new Observation { Id = "b", Status = ObservationStatus.Final, Code = new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/observation", "bclc-stage"), Effective = now, Value = new CodeableConcept { Text = "stage E" } },
                ],
            },
            "huge-values" => new PatientRecord
            {
                Patient = new Patient { Id = "p", BirthDate = "1960-01-01", Gender = AdministrativeGender.Female },
                Observations =
                [
                    O("2160-0", new Quantity(decimal.MaxValue, "mg/dL"), now), O("1975-2", new Quantity(decimal.MaxValue, "mg/dL"), now),
                    new Observation { Id = "t", Status = ObservationStatus.Final, Code = new CodeableConcept("https://cdsrisk.example.org/fhir/CodeSystem/observation", "hcc-nodule-count"), Effective = now, Value = new Quantity(1e20m, "1") },
                ],
            },
            "future-birth" => new PatientRecord { Patient = new Patient { Id = "p", BirthDate = "2030-01-01" } },
            "bad-dates" => new PatientRecord
            {
                Patient = new Patient { Id = "p", BirthDate = "1960-02-30" },
                Observations = [O("1751-7", new Quantity(40, "g/L"), new FhirDateTime("yesterday")), O("1751-7", new Quantity(40, "g/L"), new Period())],
                Conditions = [new Condition { Id = "c", Code = new CodeableConcept("http://hl7.org/fhir/sid/icd-10-cm", "C18.9"), ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved"), Abatement = new FhirString("long ago") }],
                ImagingStudies = [new ImagingStudy { Id = "i", Modality = [new Coding("http://dicom.nema.org/resources/ontology/DCM", "MR")], Started = "last week" }],
            },
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MalformedRecord_GivesEveryCriterionAResult_WithoutThrowing(string kind)
    {
        var r = Engine.Evaluate(Build(kind), new EligibilityInputs(At, PreScoreState.Pending()));
        Assert.Equal(CriterionIds.All, r.Criteria.Select(c => c.Id));
        Assert.All(r.Criteria, c => Assert.False(string.IsNullOrWhiteSpace(c.Reason)));
        Assert.NotEqual(EligibilityOutcome.Eligible, r.Outcome);
    }

    [Fact]
    public void FutureBirthDate_IsUnknownAge()
    {
        var c = Engine.Evaluate(Build("future-birth"), new EligibilityInputs(At, PreScoreState.Pending()))[CriterionIds.Age];
        Assert.Equal(CriterionStatus.Unknown, c.Status);
        Assert.Contains("after the evaluation date", c.Reason);
    }

    [Fact]
    public void HugeValues_AreNotUsable()
    {
        var s = Engine.Snapshot(Build("huge-values"), At);
        Assert.Equal(ValueState.Unusable, s.Bilirubin.State);
        Assert.Equal(ValueState.Unusable, s.TumourCount.State);
    }
}
