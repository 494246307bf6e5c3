using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.Api.Pipeline;

/// <summary>Everything between data loading and the cards: the clinical picture, imaging and PRE score, and every trial criterion.</summary>
public interface IRiskEvaluator
{
    Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken);
}

/// <summary>The result of one evaluation, as the cards report it.</summary>
public sealed record RiskEvaluation
{
    public required EligibilityOutcome Outcome { get; init; }

    /// <summary>PRE in [0, 1] when the model ran.</summary>
    public double? PreScore { get; init; }
    public ModelReference? Model { get; init; }

    /// <summary>One result per id of <see cref="CriterionIds.All"/>.</summary>
    public required IReadOnlyList<CriterionResult> Criteria { get; init; }

    /// <summary>The full eligibility result (snapshot, PRE state, protocol version), when the engine ran.</summary>
    public EligibilityResult? Eligibility { get; init; }

    /// <summary>What imaging and scoring gave within the budget (the job, the request, the outcome), when a study was found.</summary>
    public ScoringStageResult? Scoring { get; init; }

    /// <summary>False when the patient is outside the trial's population altogether (e.g. no liver tumour on record): the service then stays silent (<c>{"cards":[]}</c>).</summary>
    public bool IsApplicable { get; init; } = true;
}
