using System.Diagnostics;
using System.Text.Json;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.Api.Pipeline;

/// <summary>The story of one hook call, top to bottom. The answer is the UTF-8 JSON of a <see cref="CdsServiceResponse"/> (<see cref="HookAnswer"/>).</summary>
public sealed class RiskPipeline(
    PatientRecordLoader loader,
    IRiskEvaluator evaluator,
    HookCards cards,
    AssessmentRecorder recorder,
    HookAnswerMemo memo,
    FhirCredentials credentials,
    PatientIdHash patientIds,
    ILogger<RiskPipeline> logger)
{
    public static readonly ActivitySource Activity = new("CdsRisk.Api.Pipeline");

    /// <summary>
    /// Answers one hook call. <paramref name="body"/> holds the call's bytes when it came over HTTP: a call recognised by them is
    /// answered from the memo without being read again, and an answer kept for this call is remembered by them.
    /// </summary>
    public Task<HookAnswer> RunAsync(CdsServiceDefinition service, CdsServiceRequest request, HookCallBody? body, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        if (body?.Recalled is { } recalled)
        {
            if (logger.IsEnabled(LogLevel.Information))
            {
                logger.HookReceived(recalled.Invocation.Hook, recalled.Invocation.HookInstance, recalled.PatientHash);
            }

            return AnswerAgainAsync(recalled.Invocation, recalled.Answer, "bytes", started, cancellationToken);
        }

        var invocation = HookInvocation.From(service, request);
        if (logger.IsEnabled(LogLevel.Information))
        {
            logger.HookReceived(invocation.Hook, invocation.HookInstance, patientIds.Of(invocation.PatientId));
        }

        // 0. The same content as a recent call whose answer could not change: that answer, with this call's hookInstance.
        var memoKey = memo.Enabled ? HookAnswerMemo.Key(service, request) : null;
        if (memoKey is not null && memo.TryGet(memoKey, out var kept))
        {
            Remember(service, request, invocation, body, kept);
            return AnswerAgainAsync(invocation, kept.Answer, "content", started, cancellationToken);
        }

        return EvaluateAsync(service, request, invocation, body, memoKey, started, cancellationToken);
    }

    // matchedBy: "bytes" (the call's bytes repeat a remembered call's) or "content" (its content, read in full, repeats a kept one).
    private async Task<HookAnswer> AnswerAgainAsync(HookInvocation invocation, MemoizedAnswer kept, string matchedBy, long started, CancellationToken cancellationToken)
    {
        using var activity = Activity.StartActivity("answer-memo");
        activity?.SetTag("cds.hook_instance", invocation.HookInstance.ToString("D"));
        activity?.SetTag("cds.memo.matched_by", matchedBy);
        RememberWriteToken(invocation);
        var (answer, row) = kept.For(invocation);
        if (row is not null)
        {
            await recorder.RecordAsync(row, cancellationToken);
        }

        logger.HookAnswered(invocation.HookInstance, kept.CardCount, kept.Outcome, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return answer;
    }

    private async Task<HookAnswer> EvaluateAsync(CdsServiceDefinition service, CdsServiceRequest request, HookInvocation invocation, HookCallBody? body,
        string? memoKey, long started, CancellationToken cancellationToken)
    {
        // 1. Patient data: prefetch first, missing keys fetched from the hook's FHIR server in parallel (412 when the Patient cannot be had).
        var patient = await StageAsync("load-patient-data", () => loader.LoadAsync(invocation, service.Prefetch, request.Prefetch, cancellationToken));
        RememberWriteToken(invocation);

        // 2–5. The clinical picture, imaging and the PRE score (within the latency budget, else pending), every trial criterion.
        var evaluation = await StageAsync("evaluate", () => evaluator.EvaluateAsync(patient, invocation, cancellationToken));
        if (!evaluation.IsApplicable)
        {
            // Outside the trial's population (no liver cancer on record): nothing to say is {"cards":[]}.
            var silent = Serialize(new CdsServiceResponse { Cards = [] });
            if (memoKey is not null && IsSettled(patient, evaluation, null) && MemoizedAnswer.Create(Guid.NewGuid(), [], silent, null, 0, evaluation.Outcome.ToWire()) is { } empty)
            {
                Remember(service, request, invocation, body, memo.Store(memoKey, empty));
            }

            return new HookAnswer(silent);
        }

        // 6. Cards for the clinician, and the RiskAssessment as system actions for EHRs that write it themselves.
        var raReference = await cards.WrittenRiskAssessmentAsync(evaluation, cancellationToken);
        var (answer, audit, cardCount) = memoKey is not null && IsSettled(patient, evaluation, raReference)
            ? BuildAndKeep(memoKey, service, request, body, invocation, patient, evaluation, raReference)
            : Build(invocation, patient, evaluation, raReference);

        // 7. The audit record of what was assessed and answered.
        await StageAsync("record", () => recorder.RecordAsync(audit, cancellationToken));

        logger.HookAnswered(invocation.HookInstance, cardCount, evaluation.Outcome.ToWire(), (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return answer;
    }

    /// <summary>
    /// Whether the same content would give the same answer: every category from prefetch (nothing fetched or missing), the score
    /// settled (no study to score, or a final stored score), and the RiskAssessment, if there is one, already written.
    /// </summary>
    internal static bool IsSettled(PatientRecord patient, RiskEvaluation evaluation, string? raReference) =>
        patient.FetchedData.Count == 0
        && patient.UnavailableData.Count == 0
        && (evaluation.Scoring is null || evaluation.Scoring.IsSettled)
        && (evaluation.Scoring?.Outcome?.RiskAssessmentIdentifier is null || raReference is not null);

    private (HookAnswer Answer, AuditedAssessment Audit, int CardCount) Build(HookInvocation invocation, PatientRecord patient, RiskEvaluation evaluation, string? raReference)
    {
        using var activity = Activity.StartActivity("cards");
        var response = cards.Build(invocation, patient, evaluation, raReference);
        return (new HookAnswer(Serialize(response)), AssessmentRecorder.Describe(invocation, evaluation, response), response.Cards.Count);
    }

    // Built once for a stand-in hookInstance, kept, and filled in for this call exactly as for the calls that reuse it.
    private (HookAnswer Answer, AuditedAssessment Audit, int CardCount) BuildAndKeep(string memoKey, CdsServiceDefinition service, CdsServiceRequest request,
        HookCallBody? body, HookInvocation invocation, PatientRecord patient, RiskEvaluation evaluation, string? raReference)
    {
        using var activity = Activity.StartActivity("cards");
        var standIn = invocation with { HookInstance = Guid.NewGuid() };
        CdsServiceResponse response;
        IReadOnlyList<DeterministicUuid.DerivedUuid> derived;
        using (var recording = DeterministicUuid.Record())
        {
            response = cards.Build(standIn, patient, evaluation, raReference);
            derived = [.. recording.Derived];
        }

        if (response.SystemActions is { Count: > 0 }
            || MemoizedAnswer.Create(standIn.HookInstance, derived, Serialize(response), AssessmentRecorder.Describe(standIn, evaluation, response),
                response.Cards.Count, evaluation.Outcome.ToWire()) is not { } kept)
        {
            // System actions carry the time they were made; such answers are built for each call.
            return Build(invocation, patient, evaluation, raReference);
        }

        Remember(service, request, invocation, body, memo.Store(memoKey, kept));
        var (answer, row) = kept.For(invocation);
        return (answer, row!, kept.CardCount);
    }

    // Later calls with these bytes are then answered without reading them (HookAnswerMemo.TryRecall).
    private void Remember(CdsServiceDefinition service, CdsServiceRequest request, HookInvocation invocation, HookCallBody? body, KeptAnswer kept)
    {
        if (body is not null)
        {
            memo.Remember(service.Id, body.Bytes.Span, body.MaxDepth, request, invocation, kept);
        }
    }

    private static byte[] Serialize(CdsServiceResponse response) => JsonSerializer.SerializeToUtf8Bytes(response, CdsHooksJson.Options);

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
