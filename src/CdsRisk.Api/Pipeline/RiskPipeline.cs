using System.Diagnostics;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>The story of one hook call, top to bottom.</summary>
public sealed class RiskPipeline(
    PatientRecordLoader loader,
    EligibilityEngine eligibility,
    ScoringStage scoring,
    HookCards cards,
    AssessmentRecorder recorder,
    FhirCredentials credentials,
    IOptions<PipelineOptions> options,
    TimeProvider time,
    ILogger<RiskPipeline> logger)
{
    public static readonly ActivitySource Activity = new("CdsRisk.Api.Pipeline");

    public async Task<CdsServiceResponse> RunAsync(CdsServiceDefinition service, CdsServiceRequest request, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var invocation = HookInvocation.From(service, request);
        logger.HookReceived(invocation.Hook, invocation.HookInstance, PatientIdHash.Of(invocation.PatientId));

        // 1. Patient data: prefetch first, missing keys fetched from the hook's FHIR server in parallel (412 when the Patient cannot be had).
        var record = await StageAsync("load-patient-data", () => loader.LoadAsync(invocation, service.Prefetch, request.Prefetch, cancellationToken));
        RememberWriteToken(invocation);

        // 2. The clinical picture and the model's clinical features, from the record alone.
        var snapshot = eligibility.Snapshot(record, invocation.ReceivedAt);
        if (!HookCards.IsInTrialPopulation(snapshot))
        {
            // No liver cancer on record: this trial has nothing to say (CDS Hooks: an empty answer is {"cards":[]}).
            return new CdsServiceResponse { Cards = [] };
        }

        var features = ClinicalFeatureBuilder.Build(snapshot);

        // 3–4. Imaging and PRE score: cached, or computed within what is left of the latency budget, or pending in the background.
        var wait = Budget() - time.GetElapsedTime(started);
        var score = await StageAsync("imaging-and-score", () => scoring.RunAsync(invocation, record, snapshot, features, wait, cancellationToken));

        // 5. Every criterion of the trial, with the score and what the images showed.
        var result = eligibility.Evaluate(record, new EligibilityInputs(invocation.ReceivedAt, score.Pre, score.Mri));

        // 6. Cards for the clinician (and the RiskAssessment as a system action for EHRs that write it themselves).
        var response = await StageAsync("cards", () => cards.BuildAsync(invocation, record, result, score, cancellationToken));

        // 7. The audit record of what was assessed and answered.
        await StageAsync("record", () => recorder.RecordAsync(invocation, result, score, response, cancellationToken));

        logger.HookAnswered(invocation.HookInstance, response.Cards.Count, result.Outcome.ToWire(), (long)time.GetElapsedTime(started).TotalMilliseconds);
        return response;
    }

    private TimeSpan Budget() => TimeSpan.FromMilliseconds(options.Value.LatencyBudgetMilliseconds - options.Value.ReserveMilliseconds);

    private void RememberWriteToken(HookInvocation invocation)
    {
        if (invocation is { FhirServer: { } server, Authorization: { AccessToken: { Length: > 0 } token } auth })
        {
            credentials.RememberHookToken(server.AbsoluteUri, token, auth.ExpiresIn, auth.Scope);
        }
    }

    private static async Task<T> StageAsync<T>(string name, Func<Task<T>> stage)
    {
        using var activity = Activity.StartActivity(name);
        return await stage();
    }
}
