using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.FollowUp;

/// <summary>Builds the records of the follow-up vignettes: a patient on study, resected on <see cref="Resection"/>.</summary>
internal sealed class FollowUpRecords
{
    public static readonly DateTimeOffset Resection = new(2026, 1, 15, 9, 0, 0, TimeSpan.Zero);
    private const string Loinc = "http://loinc.org";
    private int _n;

    public Patient Patient { get; } = new() { Id = "fu-001", BirthDate = "1960-03-01" };
    public List<ResearchSubject> Subjects { get; } = [];
    public List<Observation> Observations { get; } = [];
    public List<Procedure> Procedures { get; } = [];
    public List<ImagingStudy> Studies { get; } = [];
    public List<MedicationAdministration> Administrations { get; } = [];
    public List<Condition> Conditions { get; } = [];
    public List<MedicationRequest> Requests { get; } = [];
    public List<Medication> Medications { get; } = [];
    public List<ResearchStudy> ResearchStudies { get; } = [];

    public static FollowUpRecords OnStudy(ResearchSubject.ResearchSubjectStatus status = ResearchSubject.ResearchSubjectStatus.OnStudy)
    {
        var r = new FollowUpRecords();
        r.Subjects.Add(new ResearchSubject
        {
            Id = "rs-1",
            Status = status,
            Study = new ResourceReference { Reference = "ResearchStudy/elsewhere-42", Identifier = new Identifier("https://clinicaltrials.gov", "NCT07282184") },
            Individual = new ResourceReference("Patient/fu-001"),
        });
        r.Procedures.Add(new Procedure
        {
            Id = "resection-1",
            Status = EventStatus.Completed,
            Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "47120", "Hepatectomy, resection of liver; partial lobectomy"),
            Subject = new ResourceReference("Patient/fu-001"),
            Performed = new FhirDateTime(Resection),
        });
        return r;
    }

    public FollowUpRecords Lab(string code, decimal value, string unit, DateTimeOffset when, decimal? high = null)
    {
        var o = new Observation
        {
            Id = $"obs-{++_n}",
            Status = ObservationStatus.Final,
            Code = new CodeableConcept(Loinc, code),
            Subject = new ResourceReference("Patient/fu-001"),
            Effective = new FhirDateTime(when),
            Value = new Quantity { Value = value, Unit = unit, Code = unit, System = "http://unitsofmeasure.org" },
        };
        if (high is { } h)
        {
            o.ReferenceRange.Add(new Observation.ReferenceRangeComponent { High = new Quantity { Value = h, Unit = unit, Code = unit, System = "http://unitsofmeasure.org" } });
        }

        Observations.Add(o);
        return this;
    }

    /// <summary>A visit's worth: liver MRI, AFP, bilirubin and ALT on one day.</summary>
    public FollowUpRecords Visit(DateTimeOffset when, bool mri = true, bool afp = true)
    {
        if (mri)
        {
            Studies.Add(new ImagingStudy
            {
                Id = $"mr-{++_n}",
                Status = ImagingStudy.ImagingStudyStatus.Available,
                Subject = new ResourceReference("Patient/fu-001"),
                Modality = [new Coding("http://dicom.nema.org/resources/ontology/DCM", "MR")],
                StartedElement = new FhirDateTime(when),
            });
        }

        if (afp)
        {
            Lab("1834-1", 4.1m, "ng/mL", when);
        }

        return Lab("1975-2", 12m, "umol/L", when, 21m).Lab("1742-6", 30m, "U/L", when, 40m);
    }

    public FollowUpRecords Oxaliplatin(DateTimeOffset when)
    {
        Administrations.Add(new MedicationAdministration
        {
            Id = $"ma-{++_n}",
            Status = MedicationAdministration.MedicationAdministrationStatusCodes.Completed,
            Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "32592", "oxaliplatin"),
            Subject = new ResourceReference("Patient/fu-001"),
            Effective = new FhirDateTime(when),
        });
        return this;
    }

    public PatientRecord Build() => new()
    {
        Patient = Patient,
        ResearchSubjects = Subjects,
        Observations = Observations,
        Procedures = Procedures,
        ImagingStudies = Studies,
        MedicationAdministrations = Administrations,
        Conditions = Conditions,
        MedicationRequests = Requests,
        Medications = Medications,
        ResearchStudies = ResearchStudies,
    };
}
