using CdsRisk.Core.Patients;
using Microsoft.Extensions.Caching.Memory;
using CdsRisk.Api.Diagnostics;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Pipeline;

/// <summary>
/// Keeps the reading and evaluation of settled content for <see cref="PipelineOptions.EvaluationCacheSeconds"/>: a call whose
/// content (<see cref="HookInvocation.ContentSha256"/>: service, hook, context, fhirServer and every prefetch value as sent) repeats a
/// recent call on the same day gets that call's <see cref="PatientRecord"/> and evaluation, when neither could have changed — every
/// category came from prefetch (nothing fetched, nothing unreadable) and the score was settled (a stored final score, or no study to
/// score). The record is then a function of the content alone, so it is not parsed again either. Cards, the write-back and the
/// audit record are still made for each call.
/// </summary>
public sealed class CachingRiskEvaluator(TrialRiskEvaluator inner, IOptions<PipelineOptions> options, CdsRiskMetrics metrics) : IRiskEvaluator, IDisposable
{
    /// <summary>Most evaluations kept at once.</summary>
    public const int MaxEntries = 20_000;

    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxEntries });
    private readonly TimeSpan _keep = TimeSpan.FromSeconds(options.Value.EvaluationCacheSeconds);

    /// <summary>Set to true on the pipeline's "evaluate" span when the evaluation came from this cache.</summary>
    public const string CachedTag = "cdsrisk.evaluation.cached";

    public bool Enabled => _keep > TimeSpan.Zero;

    public async Task<RiskEvaluation> EvaluateAsync(PatientRecord patient, HookInvocation invocation, CancellationToken cancellationToken)
    {
        if (!Enabled || invocation.ContentSha256 is null || patient.FetchedData.Count > 0 || patient.UnavailableData.Count > 0)
        {
            metrics.EvaluationCache("bypass");
            return await inner.EvaluateAsync(patient, invocation, cancellationToken);
        }

        // Another call with this content may have kept its reading since the pipeline asked (TryRecall).
        if (TryRecall(invocation, out var kept))
        {
            System.Diagnostics.Activity.Current?.SetTag(CachedTag, true);
            return kept.Evaluation;
        }

        metrics.EvaluationCache("miss");
        var evaluation = await inner.EvaluateAsync(patient, invocation, cancellationToken);
        if (evaluation.Scoring is null || evaluation.Scoring.IsSettled)
        {
            _cache.Set(Key(invocation), new SettledReading(patient, evaluation), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _keep });
        }

        return evaluation;
    }

    public bool TryRecall(HookInvocation invocation, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SettledReading? reading)
    {
        reading = null;
        if (!Enabled || invocation.ContentSha256 is null || !_cache.TryGetValue(Key(invocation), out SettledReading? kept) || kept is null)
        {
            return false;
        }

        metrics.EvaluationCache("hit");
        reading = kept;
        return true;
    }

    // The date is part of the key: windows ("within 30 days") are counted in days from the day of the call.
    private static string Key(HookInvocation invocation) =>
        invocation.ContentSha256 + "|" + DateOnly.FromDateTime(invocation.ReceivedAt.UtcDateTime).DayNumber;

    public void Dispose() => _cache.Dispose();
}
