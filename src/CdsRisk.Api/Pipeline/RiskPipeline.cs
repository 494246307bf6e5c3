using System.Diagnostics;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Api.Pipeline;

/// <summary>The story of one hook call, top to bottom.</summary>
public sealed class RiskPipeline(
    PatientRecordLoader loader,
    IRiskEvaluator evaluator,
    HookCards cards,
    AssessmentRecorder recorder,
    FhirCredentials credentials,
    ILogger<RiskPipeline> logger)
{
    public static readonly ActivitySource Activity = new("CdsRisk.Api.Pipeline");

    public async Task<CdsServiceResponse> RunAsync(CdsServiceDefinition service, CdsServiceRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var invocation = HookInvocation.From(service, request);
        logger.HookReceived(invocation.Hook, invocation.HookInstance, PatientIdHash.Of(invocation.PatientId));

        // 1. Patient data: prefetch first, missing keys fetched from the hook's FHIR server in parallel (412 when the Patient cannot be had).
        var patient = await StageAsync("load-patient-data", () => loader.LoadAsync(invocation, service.Prefetch, request.Prefetch, cancellationToken));
        RememberWriteToken(invocation);

        // 2–5. The clinical picture, imaging and the PRE score (within the latency budget, else pending), every trial criterion.
        var evaluation = await StageAsync("evaluate", () => evaluator.EvaluateAsync(patient, invocation, cancellationToken));
        if (!evaluation.IsApplicable)
        {
            // Outside the trial's population (no liver cancer on record): nothing to say is {"cards":[]}.
            return new CdsServiceResponse { Cards = [] };
        }

        // 6. Cards for the clinician, and the RiskAssessment as system actions for EHRs that write it themselves.
        var response = await StageAsync("cards", () => cards.BuildAsync(invocation, patient, evaluation, cancellationToken));

        // 7. The audit record of what was assessed and answered.
        await StageAsync("record", () => recorder.RecordAsync(invocation, evaluation, response, cancellationToken));

        logger.HookAnswered(invocation.HookInstance, response.Cards.Count, evaluation.Outcome.ToWire(), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return response;
    }

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
