using System.Diagnostics;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;

namespace CdsRisk.Api.Pipeline;

/// <summary>The story of one hook call, top to bottom.</summary>
public sealed class RiskPipeline(PatientRecordLoader loader, IRiskEvaluator evaluator, ILogger<RiskPipeline> logger)
{
    public static readonly ActivitySource Activity = new("CdsRisk.Api.Pipeline");

    public async Task<CdsServiceResponse> RunAsync(CdsServiceDefinition service, CdsServiceRequest request, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var invocation = HookInvocation.From(service, request);
        logger.HookReceived(invocation.Hook, invocation.HookInstance, PatientIdHash.Of(invocation.PatientId));

        // 1. Patient data: prefetch first, missing keys fetched from the hook's FHIR server (412 when the Patient cannot be had).
        var patient = await StageAsync("load-patient-data", () => loader.LoadAsync(invocation, service.Prefetch, request.Prefetch, cancellationToken));

        // 2–5. Eligibility, imaging, PRE score and the record of the assessment, behind one interface.
        var evaluation = await StageAsync("evaluate", () => evaluator.EvaluateAsync(patient, invocation, cancellationToken));

        // 6. Cards: one card with the cdsrisk extension, or none when the patient is outside the trial's population.
        var cards = CardBuilder.Build(invocation, evaluation);

        logger.HookAnswered(invocation.HookInstance, cards.Count, evaluation.Outcome.ToString(), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new CdsServiceResponse { Cards = cards };
    }

    private static async Task<T> StageAsync<T>(string name, Func<Task<T>> stage)
    {
        using var activity = Activity.StartActivity(name);
        return await stage();
    }
}
