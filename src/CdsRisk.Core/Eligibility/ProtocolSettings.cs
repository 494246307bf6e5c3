namespace CdsRisk.Core.Eligibility;

/// <summary>Recency windows, in days, within which a datum counts as current.</summary>
public sealed record RecencyWindows(int Labs, int Ecog, int BloodPressure, int LiverAssessment, int TumourMeasurements, int Nyha, int BclcObservation);

/// <summary>The thresholds of NCT07282184, from the versioned protocol file.</summary>
public sealed record ProtocolSettings
{
    public required string ProtocolId { get; init; }
    public required string Version { get; init; }
    public required double PreThreshold { get; init; }

    /// <summary>Model inputs (<see cref="Scoring.ClinicalFeatureNames"/>) without which the PRE does not describe the patient: never imputed.</summary>
    public required IReadOnlyList<string> PreKeyInputs { get; init; }
    public required int MinAgeYears { get; init; }
    public required int MaxAgeYears { get; init; }
    public required int ChildPughMaxScore { get; init; }
    public required string ChildPughNote { get; init; }
    public required int EcogMax { get; init; }
    public required IReadOnlyList<string> AdmittedBclcStages { get; init; }
    /// <summary>The one MRI window (days before the evaluation): the criterion and the imaging pipeline both read it.</summary>
    public required int MriWindowDays { get; init; }
    public required RecencyWindows Windows { get; init; }
    public required decimal RenalSevereBelow { get; init; }
    public required decimal SystolicAtLeast { get; init; }
    public required decimal DiastolicAtLeast { get; init; }
    public required int HypertensionReadings { get; init; }
    public required int MalignancyLookbackYears { get; init; }

    /// <summary>A myocardial infarction within this many months counts as recent (uncontrolled cardiac disease, to be confirmed).</summary>
    public required int CardiacRecentEventMonths { get; init; }
    public required IReadOnlyList<string> RegimenDrugs { get; init; }
    public required TimeSpan ConflictWindow { get; init; }
    public required decimal ConflictRelativeTolerance { get; init; }
}
