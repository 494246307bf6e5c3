using System.Diagnostics;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.Api.Pipeline;

/// <summary>The story of one hook call, top to bottom.</summary>
public sealed class RiskPipeline(
    Lazy<PatientRecordLoader> loader,
    IRiskEvaluator evaluator,
    ScoringJobs scoring,
    HookCards cards,
    AssessmentRecorder recorder,
    CdsRiskMetrics metrics,
    TimeProvider time,
    PatientIdHash patientIds,
    ILogger<RiskPipeline> logger)
{
    public static readonly ActivitySource Activity = new("CdsRisk.Api.Pipeline");

    /// <summary>Answers one hook call that passed validation.</summary>
    public async Task<CdsServiceResponse> RunAsync(CdsServiceDefinition service, CdsServiceRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var invocation = HookInvocation.From(service, request, time.GetUtcNow());
        using var activity = Activity.StartActivity("hook");
        activity?.SetTag("cds.hook", invocation.Hook);
        activity?.SetTag("cds.hook_instance", invocation.HookInstance.ToString("D"));
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.HookReceived(invocation.Hook, invocation.HookInstance, patientIds.Of(invocation.PatientId));
        }

        // 1. The patient's data: prefetch first, missing keys fetched from the hook's FHIR server (412 when the Patient cannot be had).
        // 2. The clinical picture, imaging and the PRE score (within the latency budget, else pending), every trial criterion.
        //    Settled content read and evaluated a moment ago is neither parsed nor evaluated again (CachingRiskEvaluator).
        // 3. The RiskAssessment of this patient, for this hook's FHIR server, queued with this hook's own token.
        //    (POST /api/scoring-jobs runs the same operation without waiting, written with the backend credential.)
        PatientRecord patient;
        ScoredPatient scored;
        if (evaluator.TryRecall(invocation, out var recalled))
        {
            patient = recalled.Patient;
            scored = await scoring.QueueAsync(recalled.Evaluation, invocation, writeCredential: invocation.Authorization, cancellationToken);
        }
        else
        {
            patient = await StageAsync("load-patient-data", () => loader.Value.LoadAsync(invocation, service.Prefetch, request.Prefetch, cancellationToken));

            // An order-select or order-sign call whose orders have nothing to do with the trial (not a liver resection, not a regimen
            // drug) gets no card, and nothing is evaluated for it (nor kept: a recalled reading always concerns the trial).
            if (!cards.ConcernsTheTrial(invocation, patient))
            {
                logger.HookAnswered(invocation.HookInstance, 0, "unrelated-orders", (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                return HookCards.Silent;
            }

            scored = await scoring.ScoreAsync(patient, invocation, wait: null, writeCredential: invocation.Authorization, cancellationToken);
        }

        var (evaluation, writeBack) = scored;

        // 4. Cards for the clinician (linking the RiskAssessment once written), and system actions for EHRs that write it themselves.
        var response = Stage("cards", () => cards.Build(invocation, patient, evaluation, writeBack));

        // 5. The audit record of exactly what was assessed and answered. A hookInstance already used for other content is refused.
        if (response.Cards.Count > 0)
        {
            var stored = await StageAsync("record", () => recorder.RecordAsync(AssessmentRecorder.Describe(invocation, patient, evaluation, writeBack, response), cancellationToken));
            if (stored == AuditInsert.HookInstanceReused)
            {
                logger.HookInstanceReused(invocation.HookInstance);
                throw new CdsRiskException(ErrorCodes.HookInstanceReused,
                    "This hookInstance was already used for a call with other content; each hook invocation needs its own UUID.",
                    new Dictionary<string, string[]> { ["hookInstance"] = ["already used for another call."] });
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        metrics.HookAnswered(invocation.Hook, evaluation.Outcome.ToWire(), elapsed);
        logger.HookAnswered(invocation.HookInstance, response.Cards.Count, evaluation.Outcome.ToWire(), (long)elapsed.TotalMilliseconds);
        return response;
    }

    private static async Task<T> StageAsync<T>(string name, Func<Task<T>> stage)
    {
        using var activity = Activity.StartActivity(name);
        return await stage();
    }

    private static T Stage<T>(string name, Func<T> stage)
    {
        using var activity = Activity.StartActivity(name);
        return stage();
    }
}
