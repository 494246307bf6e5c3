using System.Text.Json;
using System.Threading.Channels;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Api.Pipeline;

/// <summary>What the audit API shows of one hook's assessment (no images, no tokens, no resource bodies).</summary>
public sealed record AssessmentDetail
{
    public required string ServiceId { get; init; }
    public required string ProtocolVersion { get; init; }
    public required string Summary { get; init; }
    public required IReadOnlyDictionary<string, CriterionEntry> Criteria { get; init; }
    public IReadOnlyDictionary<string, double?> ClinicalFeatures { get; init; } = new Dictionary<string, double?>();
    public IReadOnlyList<string> MissingData { get; init; } = [];
    public IReadOnlyList<string> ImputedFeatures { get; init; } = [];
    public IReadOnlyList<string> BasisReferences { get; init; } = [];
    public string? ImagingStudyReference { get; init; }
    public IReadOnlyList<PhaseSummary> Phases { get; init; } = [];
    public IReadOnlyList<string> ImagingRefusals { get; init; } = [];
    public string? PreStatus { get; init; }
    public string? PreReason { get; init; }
    public string? ScoringJobId { get; init; }
    public string? RiskAssessmentIdentifier { get; init; }
    public IReadOnlyList<CardRecord> Cards { get; init; } = [];
}

public sealed record CardRecord(string Uuid, string Summary, string Indicator, string? Card);

/// <summary>
/// Records each assessment for the audit API through a group commit: concurrent hooks hand their rows to one writer that stores
/// them in one transaction and tells each hook when its row is stored. A hook waits at most a moment; when storage is slow, locked
/// or down the hook answers anyway and its row stays queued until storage takes it.
/// </summary>
public sealed class AssessmentRecorder(ILogger<AssessmentRecorder> logger)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private static readonly TimeSpan HookWait = TimeSpan.FromMilliseconds(250);
    private readonly Channel<(AuditedAssessment Row, TaskCompletionSource Stored)> _queue =
        Channel.CreateBounded<(AuditedAssessment, TaskCompletionSource)>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });

    internal ChannelReader<(AuditedAssessment Row, TaskCompletionSource Stored)> Queue => _queue.Reader;

    /// <summary>The audit row of one hook's assessment and answer.</summary>
    public static AuditedAssessment Describe(HookInvocation invocation, RiskEvaluation evaluation, CdsServiceResponse response)
    {
        var score = evaluation.Scoring;
        var request = score?.Request;
        var outcome = score?.Outcome;
        var detail = new AssessmentDetail
        {
            ServiceId = invocation.ServiceId,
            ProtocolVersion = evaluation.Eligibility?.ProtocolVersion ?? "",
            Summary = evaluation.Eligibility?.Summary ?? evaluation.Outcome.ToWire(),
            Criteria = evaluation.Criteria.ToDictionary(c => c.Id, CriterionEntry.From, StringComparer.Ordinal),
            ClinicalFeatures = request?.ClinicalFeatures ?? new Dictionary<string, double?>(),
            MissingData = request?.MissingData ?? [],
            ImputedFeatures = outcome?.ImputedFeatures ?? [],
            BasisReferences = request?.BasisReferences ?? [],
            ImagingStudyReference = request?.ImagingStudyReference,
            Phases = outcome?.Phases ?? [],
            ImagingRefusals = outcome?.Refusals ?? [],
            PreStatus = evaluation.Eligibility?.Pre.Status.ToString(),
            PreReason = evaluation.Eligibility?.Pre.Reason,
            ScoringJobId = score?.JobId,
            RiskAssessmentIdentifier = outcome?.RiskAssessmentIdentifier,
            Cards = [.. response.Cards.Select(c => new CardRecord(c.Uuid ?? "", c.Summary, c.Indicator, c.Extension?.CdsRisk.Card))],
        };

        var pre = evaluation.PreScore;
        return new AuditedAssessment(
            Id: invocation.HookInstance.ToString("D"),
            PatientRef: "Patient/" + invocation.PatientId,
            FhirServer: invocation.FhirServer?.AbsoluteUri,
            Hook: invocation.Hook,
            HookInstance: invocation.HookInstance.ToString("D"),
            AssessedAt: invocation.ReceivedAt,
            ModelId: evaluation.Model?.Id,
            ModelVersion: evaluation.Model?.Version,
            ModelSha256: evaluation.Model?.Sha256,
            Outcome: evaluation.Outcome.ToWire(),
            Risk: pre is null ? null : pre >= (request?.Threshold ?? 0.5) ? "high" : "low",
            PreScore: pre,
            StudyUid: request?.StudyInstanceUid,
            DetailJson: JsonSerializer.SerializeToUtf8Bytes(detail, Json),
            OutboxId: outcome?.RiskAssessmentIdentifier);
    }

    /// <summary>Queues the row for the group commit and waits a moment for it to be stored; false when storage was too slow (the row stays queued).</summary>
    public async Task<bool> RecordAsync(AuditedAssessment row, CancellationToken cancellationToken)
    {
        var stored = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((row, stored)))
        {
            await _queue.Writer.WriteAsync((row, stored), cancellationToken);
        }

        try
        {
            await stored.Task.WaitAsync(HookWait, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            logger.AuditDeferred(row.Id, "a slow or locked database");
            return false;
        }
    }
}

/// <summary>The group-commit writer: takes every queued row, stores them in one transaction, retries until storage takes them.</summary>
internal sealed class AuditWriter(AssessmentRecorder recorder, AssessmentAuditStore store, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int MaxBatch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(AuditedAssessment Row, TaskCompletionSource Stored)>(MaxBatch);

        // One connection kept between batches: no open per batch, and SQLite's page cache stays warm. Replaced after a failure.
        System.Data.Common.DbConnection? connection = null;
        try
        {
            while (await recorder.Queue.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < MaxBatch && recorder.Queue.TryRead(out var item))
                {
                    batch.Add(item);
                }

                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        connection ??= await store.OpenAsync(stoppingToken);
                        await store.RecordAsync(connection, [.. batch.Select(b => b.Row)], stoppingToken);
                        break;
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        logger.AuditDeferred(batch[0].Row.Id, ex.GetType().Name);
                        if (connection is not null)
                        {
                            await connection.DisposeAsync();
                            connection = null;
                        }

                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * attempt)), stoppingToken);
                    }
                }

                foreach (var (_, stored) in batch)
                {
                    stored.TrySetResult();
                }

                batch.Clear();
            }
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }
}
