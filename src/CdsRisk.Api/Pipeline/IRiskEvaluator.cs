using CdsRisk.Api.Hooks;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.Api.Pipeline;

/// <summary>Everything after data loading and before the cards: eligibility, imaging, PRE score, and the record of the assessment.</summary>
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

    /// <summary>False when the patient is outside the trial's population altogether (e.g. no liver tumour on record): the service then stays silent (<c>{"cards":[]}</c>).</summary>
    public bool IsApplicable { get; init; } = true;
}

/// <summary>
/// PROVISIONAL: stands in until the eligibility engine, imaging and model are merged (the lead replaces this registration).
/// Every criterion is unknown and the outcome is needs-data, so no card ever claims more than this build knows.
/// </summary>
public sealed class NotYetWiredRiskEvaluator : IRiskEvaluator
{
    public const string Reason = "not evaluated: eligibility engine not wired in this build";

    public Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken) =>
        Task.FromResult(new RiskEvaluation
        {
            Outcome = EligibilityOutcome.NeedsData,
            Criteria = [.. CriterionIds.All.Select(id => new CriterionResult(id, CriterionStatus.Unknown, Reason, []))],
        });
}
