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
/// Records each assessment for the audit API. A storage problem never fails the hook: the record waits in memory and is
/// written by the background writer as soon as storage answers again.
/// </summary>
public sealed class AssessmentRecorder(AssessmentAuditStore store, ILogger<AssessmentRecorder> logger)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private readonly Channel<AuditedAssessment> _retry = Channel.CreateBounded<AuditedAssessment>(new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.Wait });

    internal ChannelReader<AuditedAssessment> Retry => _retry.Reader;

    public async Task<bool> RecordAsync(HookInvocation invocation, RiskEvaluation evaluation, CdsServiceResponse response, CancellationToken cancellationToken)
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
        var row = new AuditedAssessment(
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
            DetailJson: JsonSerializer.Serialize(detail, Json),
            OutboxId: outcome?.RiskAssessmentIdentifier);

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(250));
            await store.RecordAsync(row, timeout.Token);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            logger.AuditDeferred(row.Id, ex.GetType().Name);
            _retry.Writer.TryWrite(row);
            return false;
        }
    }
}

/// <summary>Writes audit records that storage could not take during the hook.</summary>
internal sealed class AuditRetryWorker(AssessmentRecorder recorder, AssessmentAuditStore store, ILogger<AuditRetryWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var row in recorder.Retry.ReadAllAsync(stoppingToken))
        {
            for (var attempt = 1; !stoppingToken.IsCancellationRequested; attempt++)
            {
                try
                {
                    await store.RecordAsync(row, stoppingToken);
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.AuditDeferred(row.Id, ex.GetType().Name);
                    await Task.Delay(TimeSpan.FromSeconds(Math.Min(30, attempt)), stoppingToken);
                }
            }
        }
    }
}
