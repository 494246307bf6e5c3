using System.Text.Json;
using System.Threading.Channels;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

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

    /// <summary>Prefetch keys that could not be read completely, and why.</summary>
    public IReadOnlyList<DataGap> DataGaps { get; init; } = [];

    /// <summary>Resources in what the EHR sent or the server returned that were not used: another patient's, or naming no patient.</summary>
    public IReadOnlyList<DroppedResource> DroppedResources { get; init; } = [];

    public IReadOnlyList<CardRecord> Cards { get; init; } = [];

    /// <summary>With outcome <c>on-study</c>: the follow-up as assessed (the hook's answer, or the follow-up sweep's reading).</summary>
    public FollowUpEntry? FollowUp { get; init; }
}

/// <summary>One card as answered; <c>Card</c> is its kind as a card-topic code (a string, so that records of kinds since renamed stay readable).</summary>
public sealed record CardRecord(string Uuid, string Summary, CardIndicator Indicator, string? Card);

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
        Converters = { CdsHooksJson.EnumConverter },
    };

    private static readonly TimeSpan HookWait = TimeSpan.FromMilliseconds(250);
    private readonly Channel<(AuditedAssessment Row, TaskCompletionSource<AuditInsert> Stored)> _queue =
        Channel.CreateBounded<(AuditedAssessment, TaskCompletionSource<AuditInsert>)>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });

    internal ChannelReader<(AuditedAssessment Row, TaskCompletionSource<AuditInsert> Stored)> Queue => _queue.Reader;

    /// <summary>The audit row of one hook's assessment and answer, exactly as answered.</summary>
    public static AuditedAssessment Describe(HookInvocation invocation, PatientRecord patient, RiskEvaluation evaluation, QueuedWriteBack? writeBack, CdsServiceResponse response)
    {
        var score = evaluation.Scoring;
        var request = score?.Request;
        var outcome = score?.Outcome;
        var order = writeBack?.Order;
        var wireOutcome = evaluation.Outcome.ToWire();
        var detail = new AssessmentDetail
        {
            ServiceId = invocation.ServiceId,
            ProtocolVersion = evaluation.Eligibility?.ProtocolVersion ?? "",
            Summary = evaluation.Eligibility?.Summary ?? evaluation.FollowUp?.Summary
                ?? (evaluation.NotAssessedBecause.Count > 0 ? "not assessed: could not read " + string.Join(", ", evaluation.NotAssessedBecause) : wireOutcome),
            Criteria = CriterionEntry.ById(evaluation.Criteria),
            ClinicalFeatures = evaluation.Features?.Values.Values ?? new Dictionary<string, double?>(),
            MissingData = evaluation.Features is { } f ? [.. f.Missing.Select(m => $"{m.Key}: {m.Value}")] : [],
            ImputedFeatures = outcome?.ImputedFeatures ?? [],
            BasisReferences = order?.ObservationReferences ?? [],
            ImagingStudyReference = score?.ImagingStudyReference,
            Phases = outcome?.Phases ?? [],
            ImagingRefusals = outcome?.Refusals ?? [],
            PreStatus = evaluation.Eligibility?.Pre.Status.ToString(),
            PreReason = evaluation.Eligibility?.Pre.Reason,
            ScoringJobId = score?.JobId,
            RiskAssessmentIdentifier = writeBack?.Id,
            DataGaps = patient.DataGaps,
            DroppedResources = patient.DroppedResources,
            Cards = [.. response.Cards.Select(c => new CardRecord(c.Uuid ?? "", c.Summary, c.Indicator, c.Extension?.CdsRisk.Card.ToWire()))],
            FollowUp = evaluation.FollowUp is { } followUp ? FollowUpEntry.From(followUp) : null,
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
            Outcome: wireOutcome,
            Risk: pre is null ? null : pre >= evaluation.Threshold ? "high" : "low",
            PreScore: pre,
            StudyUid: request?.StudyInstanceUid,
            DetailJson: JsonSerializer.SerializeToUtf8Bytes(detail, Json),
            OutboxId: writeBack?.State == WriteBackStatus.NotQueued ? null : writeBack?.Id,
            ContentSha256: invocation.ContentSha256);
    }

    /// <summary>
    /// Queues the row for the group commit and waits a moment for it to be stored: what storing found, or null when storage was too
    /// slow (the row stays queued and is stored later; a reused hookInstance then cannot be refused).
    /// </summary>
    public async Task<AuditInsert?> RecordAsync(AuditedAssessment row, CancellationToken cancellationToken)
    {
        var stored = new TaskCompletionSource<AuditInsert>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((row, stored)))
        {
            await _queue.Writer.WriteAsync((row, stored), cancellationToken);
        }

        try
        {
            return await stored.Task.WaitAsync(HookWait, cancellationToken);
        }
        catch (TimeoutException)
        {
            logger.AuditDeferred(row.Id, "a slow or locked database");
            return null;
        }
    }
}

/// <summary>The group-commit writer: takes every queued row, stores them in one transaction, retries until storage takes them.</summary>
internal sealed class AuditWriter(AssessmentRecorder recorder, AssessmentAuditStore store, ILogger<AuditWriter> logger) : BackgroundService
{
    private const int MaxBatch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<(AuditedAssessment Row, TaskCompletionSource<AuditInsert> Stored)>(MaxBatch);

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

                IReadOnlyList<AuditInsert> results;
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        connection ??= await store.OpenAsync(stoppingToken);
                        results = await store.RecordAsync(connection, [.. batch.Select(b => b.Row)], stoppingToken);
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

                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Stored.TrySetResult(results[i]);
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
