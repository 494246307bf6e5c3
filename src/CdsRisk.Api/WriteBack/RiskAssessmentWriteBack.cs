using System.Data.Common;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.WriteBack;

/// <summary>What a hook knows about its RiskAssessment write-back when it answers.</summary>
/// <param name="Id">The outbox item's id, which is the RiskAssessment's identifier value.</param>
/// <param name="State">The outbox item's state, or <see cref="WriteBackStatus.NotQueued"/> when the EHR writes it (system actions).</param>
/// <param name="Location">"RiskAssessment/{id}" on the hook's FHIR server once written.</param>
/// <param name="Order">What is (to be) written.</param>
public sealed record QueuedWriteBack(string Id, WriteBackStatus State, string? Location, RiskAssessmentOrder Order);

/// <summary>Where a RiskAssessment write-back stands (the audit API's <c>writeBack.state</c>): its outbox item's state, or not queued.</summary>
public enum WriteBackStatus
{
    /// <summary>Waiting to be written, or retrying.</summary>
    Pending,
    Written,

    /// <summary>Refused by the FHIR server for good.</summary>
    Rejected,

    /// <summary>Nothing to write after all (the MRI could not be scored).</summary>
    Dropped,

    /// <summary>No write-back: no score to record, or the EHR writes it through system actions.</summary>
    NotQueued,
}

public static class WriteBackStatuses
{
    public static WriteBackStatus Of(OutboxState state) => state switch
    {
        OutboxState.Pending => WriteBackStatus.Pending,
        OutboxState.Written => WriteBackStatus.Written,
        OutboxState.Rejected => WriteBackStatus.Rejected,
        OutboxState.Dropped => WriteBackStatus.Dropped,
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "not an OutboxState"),
    };
}

/// <summary>
/// The write-back step of a hook: the RiskAssessment of this patient's score, for this hook's FHIR server, queued in the outbox
/// together with the hook's own token (<see cref="FhirCredentials.HoldHookToken"/>). Everything written or linked is keyed by
/// (FHIR server, patient, study, model): one patient's write can neither take nor block another's.
/// </summary>
public sealed class RiskAssessmentWriteBack(
    OutboxStore outbox,
    OutboxWriter writer,
    FhirCredentials credentials,
    PreScorer model,
    IOptions<WriteBackOptions> writeBack,
    IOptions<PipelineOptions> pipeline,
    IOptions<FhirOptions> fhir,
    ILogger<RiskAssessmentWriteBack> logger) : IDisposable
{
    public const string Kind = "risk-assessment-order";

    /// <summary>How long a hook waits for the outbox to take its item before answering without the write-back's state.</summary>
    private static readonly TimeSpan StorageWait = TimeSpan.FromMilliseconds(250);

    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(fhir.Value.AllowedServers);

    // Items already written with this content: a warm hook then links its RiskAssessment without asking storage.
    private readonly MemoryCache _written = new(new MemoryCacheOptions { SizeLimit = 100_000 });

    /// <summary>The order for this hook's patient, or null when nothing is to be written (no score that means something, or no FHIR server).</summary>
    public RiskAssessmentOrder? OrderFor(HookInvocation invocation, RiskEvaluation evaluation)
    {
        if (!evaluation.RecordsRisk || invocation.FhirServer is null
            || evaluation is not { Scoring.Request: { } job, Eligibility.Snapshot: { } snapshot, Features: { } features })
        {
            return null;
        }

        var card = model.Card;
        return new RiskAssessmentOrder
        {
            FhirServer = Normalise(invocation.FhirServer),
            PatientReference = "Patient/" + invocation.PatientId,
            EncounterReference = invocation.EncounterId is { Length: > 0 } e ? "Encounter/" + e : null,
            ConditionReference = snapshot.Hcc?.Condition.Reference,
            Occurrence = invocation.ReceivedAt,
            Threshold = evaluation.Threshold,
            StudyInstanceUid = job.StudyInstanceUid,
            ImagingStudyReference = evaluation.Scoring.ImagingStudyReference,
            ObservationReferences = BasisReferences(snapshot),
            MissingData = [.. features.Missing.Select(m => $"{m.Key}: {m.Value}")],
            ClinicalFeatureHash = job.ClinicalFeatureHash,
            ScoreKey = job.CacheKey,
            ModelSha256 = job.ModelSha256,
            ReferenceModel = card.NotForClinicalUse && string.Equals(card.Sha256, job.ModelSha256, StringComparison.OrdinalIgnoreCase),
            ModelCardUrl = pipeline.Value.ModelCardUrl,
        };
    }

    /// <summary>
    /// Queues the RiskAssessment of this evaluation for the hook's FHIR server, with <paramref name="credential"/> (the hook's token)
    /// held for exactly this write, or the server's backend credential when null; null when there is nothing to write. Queuing
    /// the same content again changes nothing; new content (new clinical values, a new score) replaces what was queued for the
    /// same (server, patient, study, model).
    /// </summary>
    public async Task<QueuedWriteBack?> QueueAsync(HookInvocation invocation, RiskEvaluation evaluation, FhirAuthorization? credential, CancellationToken cancellationToken)
    {
        if (OrderFor(invocation, evaluation) is not { } order)
        {
            return null;
        }

        if (!writeBack.Value.WritesDirectly)
        {
            return new QueuedWriteBack(order.Id, WriteBackStatus.NotQueued, null, order);
        }

        if (!_allowed.Admits(new Uri(order.FhirServer)))
        {
            // Never queued: a write to a server that is not allowed would only ever be refused (and must never hold anything up).
            logger.WriteBackServerNotAllowed(invocation.HookInstance, invocation.FhirServer!.Host);
            return null;
        }

        var content = order.ContentSha256();
        if (_written.TryGetValue(order.Id, out (string Content, string? Location) known) && known.Content == content)
        {
            return new QueuedWriteBack(order.Id, WriteBackStatus.Written, known.Location, order);
        }

        credentials.HoldHookToken(order.Id, order.FhirServer, invocation.PatientId, credential);

        // Stored whatever happens to the call (no cancellation token); the hook waits only a moment for slow or locked storage, and
        // an item that storage could not take is kept in memory and stored by the outbox worker as soon as it can.
        var stored = StoreAsync(order, content);
        OutboxItem? item;
        try
        {
            item = await stored.WaitAsync(StorageWait, cancellationToken);
        }
        catch (TimeoutException ex)
        {
            logger.WriteBackDeferred(invocation.HookInstance, ex.GetType().Name);
            return new QueuedWriteBack(order.Id, WriteBackStatus.Pending, null, order);
        }

        if (item is null)
        {
            return new QueuedWriteBack(order.Id, WriteBackStatus.Pending, null, order);
        }

        if (item.State == OutboxState.Pending)
        {
            writer.Nudge(order.Id);
        }
        else if (item.ContentSha256 == content)
        {
            // Settled for this content (written, refused, or nothing to write): the token is not needed.
            credentials.Release(order.Id);
            if (item.State == OutboxState.Written)
            {
                _written.Set(order.Id, (content, item.ResultLocation), new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromHours(1) });
            }
        }

        return new QueuedWriteBack(order.Id, WriteBackStatuses.Of(item.State), item.State == OutboxState.Written ? item.ResultLocation : null, order);
    }

    // Queues the item and reads back its state; when storage refuses, the item is handed to the outbox worker to store later.
    private async Task<OutboxItem?> StoreAsync(RiskAssessmentOrder order, string content)
    {
        var json = order.ToJson();
        try
        {
            await outbox.EnqueueAsync(order.Id, Kind, order.FhirServer, json, CancellationToken.None, order.ScoreKey, content);
            return await outbox.GetAsync(order.Id, CancellationToken.None);
        }
        catch (Exception ex) when (ex is DbException or TimeoutException)
        {
            logger.WriteBackDeferred(Guid.Empty, ex.GetType().Name);
            writer.EnqueueLater(new DeferredEnqueue(order.Id, Kind, order.FhirServer, json, order.ScoreKey, content));
            return null;
        }
    }

    /// <summary>The Observations behind the model's clinical features: RiskAssessment.basis.</summary>
    private static IReadOnlyList<string> BasisReferences(PatientSnapshot s) =>
        [.. new[] { s.Afp, s.Albumin, s.Bilirubin, s.Platelets, s.Inr, s.TumourSizeCm, s.TumourCount }
            .Where(v => v.IsAvailable && v.Reference is not null).Select(v => v.Reference!).Distinct(StringComparer.Ordinal)];

    private static string Normalise(Uri server) => server.AbsoluteUri.TrimEnd('/') + "/";

    public void Dispose() => _written.Dispose();
}
