using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>NCT07282184: the clinical picture, the PRE score within the hook's latency budget, then every criterion.</summary>
public sealed class TrialRiskEvaluator(
    EligibilityEngine eligibility,
    ScoringStage scoring,
    PreScorer model,
    IOptions<PipelineOptions> options,
    TimeProvider time) : IRiskEvaluator
{
    public async Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken)
    {
        // The clinical picture and the model's clinical features, from the record alone.
        var snapshot = eligibility.Snapshot(patient, invocation.ReceivedAt);
        if (!IsInTrialPopulation(snapshot))
        {
            return new RiskEvaluation { Outcome = EligibilityOutcome.Ineligible, Criteria = [], IsApplicable = false };
        }

        var features = ClinicalFeatureBuilder.Build(snapshot);

        // Imaging and PRE score: cached, or computed within what is left of the budget, or pending in the background.
        var budget = TimeSpan.FromMilliseconds(options.Value.LatencyBudgetMilliseconds - options.Value.ReserveMilliseconds);
        var wait = budget - (time.GetUtcNow() - invocation.ReceivedAt);
        var score = await scoring.RunAsync(invocation, patient, snapshot, features, wait, cancellationToken);

        // Every criterion of the trial, with the score and what the images showed.
        var result = eligibility.Evaluate(snapshot, new EligibilityInputs(invocation.ReceivedAt, score.Pre, score.Mri));
        return new RiskEvaluation
        {
            Outcome = result.Outcome,
            // A PRE outside the population it describes is not shown (issue 14 section 3; EligibilityResult.PreIsMeaningful).
            PreScore = result.PreIsMeaningful ? result.Pre.Value : null,
            Model = result.PreIsMeaningful ? new ModelReference { Id = model.Card.Id, Version = model.Card.Version, Sha256 = model.Card.Sha256 } : null,
            Criteria = result.Criteria,
            Eligibility = result,
            Scoring = score,
        };
    }

    /// <summary>The trial concerns patients with liver cancer on record or a liver resection planned; for anyone else the service stays silent.</summary>
    public static bool IsInTrialPopulation(PatientSnapshot snapshot) =>
        snapshot.Hcc is not null || snapshot.NonHccDiagnoses.Count > 0 || snapshot.Resections.Count > 0;
}
