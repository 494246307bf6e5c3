using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;

namespace CdsRisk.Api.Pipeline;

/// <summary>Everything between data loading and the cards: the clinical picture, imaging and PRE score, and every trial criterion.</summary>
public interface IRiskEvaluator
{
    Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken);

    /// <summary>
    /// The reading and evaluation of a recent call with the same content, when neither could have changed since (see
    /// <see cref="CachingRiskEvaluator"/>): the pipeline then neither loads nor evaluates again. By default nothing is recalled.
    /// </summary>
    bool TryRecall(HookInvocation invocation, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SettledReading? reading)
    {
        reading = null;
        return false;
    }
}

/// <summary>What a call with settled content was read and evaluated as; both immutable, handed to every call with that content.</summary>
public sealed record SettledReading(PatientRecord Patient, RiskEvaluation Evaluation);

/// <summary>The result of one evaluation, as the cards report it. Immutable: a cached evaluation is handed to many calls.</summary>
public sealed record RiskEvaluation
{
    public required EligibilityOutcome Outcome { get; init; }

    /// <summary>PRE in [0, 1] when the model ran.</summary>
    public double? PreScore { get; init; }
    public ModelReference? Model { get; init; }

    /// <summary>The protocol's PRE threshold.</summary>
    public double Threshold { get; init; } = 0.5;

    /// <summary>One result per id of <see cref="CriterionIds.All"/>.</summary>
    public required IReadOnlyList<CriterionResult> Criteria { get; init; }

    /// <summary>The full eligibility result (snapshot, PRE state, protocol version), when the engine ran.</summary>
    public EligibilityResult? Eligibility { get; init; }

    /// <summary>The model's clinical inputs for this patient and which were missing, when the engine ran.</summary>
    public ClinicalFeatureSet? Features { get; init; }

    /// <summary>What imaging and scoring gave within the budget (the job, the request, the outcome), when a study was found.</summary>
    public ScoringStageResult? Scoring { get; init; }

    /// <summary>False when the patient is outside the trial's population altogether (e.g. no liver tumour on record): the service then stays silent (<c>{"cards":[]}</c>).</summary>
    public bool IsApplicable { get; init; } = true;

    /// <summary>
    /// With <see cref="EligibilityOutcome.NotAssessed"/>: the data categories that could not be read from the EHR, and so why
    /// eligibility was not assessed. The answer is then a card that says so, never the silent answer.
    /// </summary>
    public IReadOnlyList<string> NotAssessedBecause { get; init; } = [];

    /// <summary>With <see cref="EligibilityOutcome.OnStudy"/>: the follow-up schedule, signals and post-operative exclusions (issue 17).</summary>
    public Core.FollowUp.FollowUpResult? FollowUp { get; init; }

    /// <summary>
    /// Whether a PRE for this patient means something and is recorded as a RiskAssessment (issue 14 section 3): the engine found it
    /// meaningful (<see cref="EligibilityResult.PreIsMeaningful"/>: an HCC on record, no criterion failing, the model's key inputs
    /// measured), or it is still being computed for a patient for whom it will be.
    /// </summary>
    public bool RecordsRisk =>
        IsApplicable
        && Scoring?.Request is not null
        && Eligibility is { } e
        && (e.PreIsMeaningful
            || (e.Pre.Status == PreScoreStatus.Pending && e.Snapshot.Hcc is not null && e.FailingCriteria.Count == 0 && e.MissingKeyInputs.Count == 0));
}
