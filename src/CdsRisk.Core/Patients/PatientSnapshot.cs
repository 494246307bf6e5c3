using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scores;

namespace CdsRisk.Core.Patients;

public enum ValueState
{
    Available,
    Missing,
    Stale,
    Conflicting,
    Unusable,
}

/// <summary>
/// One clinical datum as selected for the evaluation date: the latest value within its window, in its canonical unit.
/// Stale, conflicting or unusable data keep Value null and say why in Detail; they are never silently picked.
/// </summary>
public sealed record ClinicalValue(string Name, ValueState State, decimal? Value, string Unit, DateTimeOffset? Date, string Detail, IReadOnlyList<Evidence> Evidence)
{
    public bool IsAvailable => State == ValueState.Available;

    public string? Reference => Evidence.Count > 0 ? Evidence[0].Reference : null;

    /// <summary>"bilirubin 20.5 µmol/L (1.2 mg/dL, 2026-06-01)" or "bilirubin out of date: ...".</summary>
    public string Describe() => State == ValueState.Available ? $"{Name} {Detail}" : $"{Name} {StateWord}: {Detail}";

    public string StateWord => State switch
    {
        ValueState.Missing => "not recorded",
        ValueState.Stale => "out of date",
        ValueState.Conflicting => "conflicting",
        ValueState.Unusable => "not usable",
        _ => "available",
    };

    public static ClinicalValue Missing(string name, string unit, string detail = "no observation on record") =>
        new(name, ValueState.Missing, null, unit, null, detail, []);
}

/// <summary>Age on the evaluation date; a partial birth date gives a range.</summary>
public sealed record AgeFinding(int? MinYears, int? MaxYears, string? BirthDate, string? Reference)
{
    public int? Years => MinYears == MaxYears ? MinYears : null;
}

public sealed record ConditionFinding(string Reference, string Display, string? ClinicalStatus, string? VerificationStatus, DateTimeOffset? Onset, DateTimeOffset? Abatement, DateTimeOffset? Recorded)
{
    public Evidence ToEvidence(string what) => new(Reference, $"{what}: {Display}", ClinicalStatus is null ? null : $"clinical status {ClinicalStatus}", Onset ?? Recorded);
}

/// <summary>
/// The liver-cancer diagnosis the trial is about. <see cref="Specific"/> is false when the record names liver cancer without saying
/// it is HCC (ICD-10 C22.9, C78.7, SNOMED "malignant neoplasm of liver" ...): the HCC diagnosis is then to be confirmed.
/// </summary>
public sealed record HccDiagnosis(ConditionFinding Condition, bool Confirmed, string? Basis, bool Specific = true);

public sealed record BclcRecord(string Stage, string Reference, DateTimeOffset? Date, string Source);

public enum MalignancyRelevance
{
    /// <summary>Active, or active within the look-back: excludes.</summary>
    Counts,
    /// <summary>One of the protocol's exceptions.</summary>
    Excepted,
    /// <summary>Ended before the look-back window.</summary>
    OutsideLookback,
    /// <summary>Not active now, but no date places it inside or outside the window.</summary>
    DateUnknown,
    /// <summary>The protocol's exception may apply but needs the investigator's judgement (in situ outside the cervix, very-low-risk,
    /// untreated non-melanoma skin cancer, a secondary neoplasm that may be the HCC's spread).</summary>
    ToConfirm,
}

public sealed record MalignancyFinding(ConditionFinding Condition, MalignancyRelevance Relevance, string Why);

public sealed record AllergyFinding(string Reference, string Substance, DrugClass DrugClass, string MatchedBy, string? Criticality);

/// <summary>A recorded cardiac condition the trial's "uncontrolled cardiac disease" may cover (recent MI, unstable angina, arrhythmia).</summary>
public sealed record CardiacFinding(ConditionFinding Condition, string Kind, bool Counts, string Why);

public sealed record ResectionFinding(string Reference, string Kind, string Status, DateTimeOffset? When, string Display);

public sealed record MriStudyFinding(string Reference, DateTimeOffset? Started, int SeriesCount, string? Description, string? StudyInstanceUid);

/// <summary>
/// Which MR study the evaluation uses and what else is on record: the newest pre-operative one inside the protocol window
/// (else the newest dated one, else an undated one), with the count of the others (issue 15 item 5).
/// </summary>
public sealed record MriSelection(MriStudyFinding Chosen, int OtherStudies, int OtherStudiesInWindow, int UndatedStudies)
{
    public int Total => OtherStudies + 1;
}

public sealed record BloodPressureReading(decimal? Systolic, decimal? Diastolic, DateTimeOffset Date, string Reference)
{
    public string Display => $"{(Systolic is { } s ? FhirRead.Num(s) : "?")}/{(Diastolic is { } d ? FhirRead.Num(d) : "?")} mmHg";
}

/// <summary>The typed clinical picture of one patient on one evaluation date, built from a <see cref="PatientRecord"/>.</summary>
public sealed record PatientSnapshot
{
    public required DateTimeOffset EvaluatedAt { get; init; }
    public required string PatientReference { get; init; }
    public required AgeFinding Age { get; init; }
    public bool? SexMale { get; init; }

    public HccDiagnosis? Hcc { get; init; }
    /// <summary>Every recorded BCLC stage (Condition.stage and Observations within the window), latest first.</summary>
    public IReadOnlyList<BclcRecord> RecordedBclc { get; init; } = [];
    /// <summary>The BCLC stage Observation as selected (stale or conflicting ones are reported, not used); Value 0-4 for 0, A, B, C, D.</summary>
    public required ClinicalValue BclcObservation { get; init; }
    public required ClinicalValue TumourSizeCm { get; init; }
    public required ClinicalValue TumourCount { get; init; }

    public required ClinicalValue Bilirubin { get; init; }
    public required ClinicalValue Albumin { get; init; }
    public required ClinicalValue Inr { get; init; }
    public required ClinicalValue Creatinine { get; init; }
    public required ClinicalValue Egfr { get; init; }
    public required ClinicalValue Afp { get; init; }
    public required ClinicalValue Platelets { get; init; }
    /// <summary>0 none, 1 mild, 2 moderate to severe.</summary>
    public required ClinicalValue AscitesGrade { get; init; }
    /// <summary>West Haven 0-4.</summary>
    public required ClinicalValue EncephalopathyGrade { get; init; }
    public required ChildPughScore ChildPugh { get; init; }
    public AlbiScore? Albi { get; init; }

    public required ClinicalValue Ecog { get; init; }
    public IReadOnlyList<ConditionFinding> HeartFailure { get; init; } = [];
    public required ClinicalValue Nyha { get; init; }
    public IReadOnlyList<ConditionFinding> SevereKidneyDisease { get; init; } = [];
    /// <summary>Readings within the blood-pressure window, latest first.</summary>
    public IReadOnlyList<BloodPressureReading> BloodPressure { get; init; } = [];
    public BloodPressureReading? LatestBloodPressureOutsideWindow { get; init; }
    /// <summary>Why the latest reading with no usable value was dropped (e.g. its unit), when there was one.</summary>
    public string? UnusableBloodPressure { get; init; }
    public IReadOnlyList<ConditionFinding> Hypertension { get; init; } = [];

    public IReadOnlyList<ConditionFinding> NonHccDiagnoses { get; init; } = [];
    /// <summary>Other named primary liver cancers (hepatoblastoma, angiosarcoma ...): not HCC, to be confirmed by pathology.</summary>
    public IReadOnlyList<ConditionFinding> OtherLiverCancers { get; init; } = [];
    /// <summary>Active secondary malignancies outside the liver: possible extrahepatic spread (BCLC C).</summary>
    public IReadOnlyList<ConditionFinding> ExtrahepaticSpread { get; init; } = [];
    /// <summary>Active macrovascular invasion by the tumour (BCLC C).</summary>
    public IReadOnlyList<ConditionFinding> VascularInvasion { get; init; } = [];
    public IReadOnlyList<CardiacFinding> CardiacConditions { get; init; } = [];
    public IReadOnlyList<MalignancyFinding> OtherMalignancies { get; init; } = [];
    public IReadOnlyList<AllergyFinding> RegimenAllergies { get; init; } = [];
    public IReadOnlyList<ResectionFinding> Resections { get; init; } = [];
    /// <summary>The MR study the evaluation uses (see <see cref="MriSelection"/>), if any.</summary>
    public MriStudyFinding? LatestMri => Mri?.Chosen;
    public MriSelection? Mri { get; init; }

    public IReadOnlyList<string> UnavailableData { get; init; } = [];
}
