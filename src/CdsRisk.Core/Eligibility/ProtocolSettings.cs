namespace CdsRisk.Core.Eligibility;

/// <summary>Recency windows, in days, within which a datum counts as current.</summary>
public sealed record RecencyWindows(int Labs, int Ecog, int BloodPressure, int LiverAssessment, int TumourMeasurements, int Nyha, int BclcObservation);

/// <summary>The thresholds of NCT07282184, from the versioned protocol file.</summary>
public sealed record ProtocolSettings
{
    public required string ProtocolId { get; init; }
    public required string Version { get; init; }
    public required double PreThreshold { get; init; }
    public required int MinAgeYears { get; init; }
    public required int MaxAgeYears { get; init; }
    public required int ChildPughMaxScore { get; init; }
    public required string ChildPughNote { get; init; }
    public required int EcogMax { get; init; }
    public required IReadOnlyList<string> AdmittedBclcStages { get; init; }
    public required int MriWindowDays { get; init; }
    public required int MriMinSeries { get; init; }
    public required RecencyWindows Windows { get; init; }
    public required decimal RenalSevereBelow { get; init; }
    public required decimal SystolicAtLeast { get; init; }
    public required decimal DiastolicAtLeast { get; init; }
    public required int HypertensionReadings { get; init; }
    public required int MalignancyLookbackYears { get; init; }
    public required IReadOnlyList<string> RegimenDrugs { get; init; }
    public required TimeSpan ConflictWindow { get; init; }
    public required decimal ConflictRelativeTolerance { get; init; }
}
