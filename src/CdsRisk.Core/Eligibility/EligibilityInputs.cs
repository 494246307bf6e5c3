using CdsRisk.Core.Patients;

namespace CdsRisk.Core.Eligibility;

public enum PreScoreStatus
{
    Computed,
    Pending,
    Unavailable,
}

/// <summary>The PRE score as the scoring side reports it: a value, still being computed, or unavailable with a reason.</summary>
public sealed record PreScoreState(PreScoreStatus Status, double? Value, string? Reason, string? Reference = null)
{
    public static PreScoreState Computed(double value, string? reference = null) =>
        double.IsFinite(value) && value is >= 0 and <= 1
            ? new(PreScoreStatus.Computed, value, null, reference)
            : throw new ArgumentOutOfRangeException(nameof(value), value, "PRE is a probability in [0, 1]");

    public static PreScoreState Pending() => new(PreScoreStatus.Pending, null, "PRE score is being computed");

    public static PreScoreState Unavailable(string reason) => new(PreScoreStatus.Unavailable, null, reason);
}

/// <summary>
/// The imaging pipeline's verdict on the <c>mri-4-phase</c> criterion (four phases found, quality acceptable).
/// When none is supplied the engine judges from the ImagingStudy resource alone.
/// </summary>
public sealed record MriAssessment(CriterionStatus Status, string Reason, IReadOnlyList<Evidence> Evidence)
{
    public string? ToRecord { get; init; }
}

/// <summary>What the engine needs besides the patient record.</summary>
public sealed record EligibilityInputs(DateTimeOffset EvaluatedAt, PreScoreState Pre, MriAssessment? Mri = null);

/// <summary>The outcome of one evaluation: every criterion, which failed, what to record, and the PRE state.</summary>
public sealed record EligibilityResult(
    EligibilityOutcome Outcome,
    string Summary,
    IReadOnlyList<CriterionResult> Criteria,
    IReadOnlyList<string> FailingCriteria,
    IReadOnlyList<string> ToRecord,
    PreScoreState Pre,
    string ProtocolVersion,
    PatientSnapshot Snapshot)
{
    public CriterionResult this[string id] => Criteria.First(c => c.Id == id);

    /// <summary>
    /// Whether the PRE describes this patient: it was computed, the patient is inside the trial's population (an HCC diagnosis on
    /// record, no criterion failing) and the model's key inputs were measured, not imputed. When false the PRE is not shown and no
    /// final RiskAssessment is written; <see cref="PreNotUsedReason"/> says why.
    /// </summary>
    public bool PreIsMeaningful { get; init; }

    /// <summary>Why a computed PRE is not used for this patient (null when it is used, or when there is none).</summary>
    public string? PreNotUsedReason { get; init; }

    /// <summary>The model's minor inputs that were missing and are imputed with the training mean, as clinicians name them ("platelets").</summary>
    public IReadOnlyList<string> ImputedInputs { get; init; } = [];

    /// <summary>The model's key inputs (protocol preScore.keyInputs) that are missing: the outcome is needs-data naming them.</summary>
    public IReadOnlyList<string> MissingKeyInputs { get; init; } = [];
}
