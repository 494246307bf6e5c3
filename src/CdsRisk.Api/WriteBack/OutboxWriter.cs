using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Scoring;
using CdsRisk.Api.Storage;
using CdsRisk.Core.WriteBack;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.WriteBack;

/// <summary>An item that storage could not take when a hook queued it; the outbox worker stores it as soon as it can.</summary>
public sealed record DeferredEnqueue(string Id, string Kind, string FhirServer, string PayloadJson, string? ScoreKey, string? ContentSha256);

/// <summary>The result of one attempt to write an outbox item.</summary>
public sealed record WriteAttempt(bool Written, bool Final, string? Location, string? Error)
{
    /// <summary>The server itself failed (unreachable, 5xx, 408/429, no answer): its other items wait too.</summary>
    public bool ServerFailed { get; init; }

    /// <summary>Not tried yet (waiting for its PRE score): due again then, no attempt counted.</summary>
    public DateTimeOffset? Deferred { get; init; }

    /// <summary>Nothing to write (no usable score).</summary>
    public bool Dropped { get; init; }
}

/// <summary>
/// Writes outbox items to the EHR's FHIR servers and drains the outbox: one process at a time (a database lease), each FHIR
/// server on its own and all of them at once, so a slow or failing server delays only its own items (it backs off as a whole);
/// each item is retried with exponential backoff and jitter until written. Every write is idempotent (conditional create or
/// update on an identifier, PUT on a deterministic id), so a retry after a lost response never duplicates. An item is written with
/// the token of the hook that queued it, else a backend client's; never with a token another hook brought.
/// </summary>
public sealed class OutboxWriter(
    OutboxStore outbox,
    LeaseStore leases,
    ScoreCacheStore scores,
    FhirCredentials credentials,
    IHttpClientFactory httpClients,
    IOptions<WriteBackOptions> options,
    IOptions<FhirOptions> fhirOptions,
    TimeProvider time,
    ILogger<OutboxWriter> logger,
    CdsRiskMetrics? metrics = null)
{
    public const string HttpClientName = "cdsrisk-fhir-write";
    public const string DrainLease = "outbox-drain";

    /// <summary>The kind of items written before orders existed: the payload is the FHIR transaction itself.</summary>
    public const string TransactionKind = "risk-assessment";

    /// <summary>FHIR servers drained at the same time.</summary>
    public const int ParallelServers = 8;

    /// <summary>How long an order waits for its PRE before it is given up (the job kept failing, or never ran).</summary>
    public static readonly TimeSpan ScoreWaitLimit = TimeSpan.FromHours(24);

    private static readonly FhirJsonSerializer FhirJson = new();
    private readonly Channel<string> _nudges = Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(fhirOptions.Value.AllowedServers);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _serverBackoff = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _warnedNoCredential = new(StringComparer.Ordinal);

    public string Owner { get; } = $"{Environment.ProcessId}-{Guid.NewGuid():N}";

    internal ChannelReader<string> Nudges => _nudges.Reader;

    /// <summary>Asks the drain to look at the outbox now (an item was queued or became due).</summary>
    public void Nudge(string id) => _nudges.Writer.TryWrite(id);

    /// <summary>Items that storage could not take yet, stored by <see cref="StoreDeferredAsync"/> before the next drain.</summary>
    private readonly ConcurrentQueue<DeferredEnqueue> _deferred = new();

    /// <summary>Keeps an item storage refused, to store it later (the same content queued again by a later hook is harmless).</summary>
    public void EnqueueLater(DeferredEnqueue item)
    {
        _deferred.Enqueue(item);
        Nudge(item.Id);
    }

    /// <summary>Stores the items kept by <see cref="EnqueueLater"/>; those storage still refuses stay for the next round.</summary>
    public async Task StoreDeferredAsync(CancellationToken cancellationToken)
    {
        var count = _deferred.Count;
        for (var i = 0; i < count && _deferred.TryDequeue(out var item); i++)
        {
            try
            {
                await outbox.EnqueueAsync(item.Id, item.Kind, item.FhirServer, item.PayloadJson, cancellationToken, item.ScoreKey, item.ContentSha256);
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or TimeoutException)
            {
                _deferred.Enqueue(item);
                logger.OutboxDrainError(ex.GetType().Name);
                return;
            }
        }
    }

    /// <summary>Stores the write (once per id and content) and asks the drain to try it now.</summary>
    public async Task<bool> EnqueueAsync(string id, string kind, string fhirServer, string payloadJson, CancellationToken cancellationToken)
    {
        var created = await outbox.EnqueueAsync(id, kind, fhirServer, payloadJson, cancellationToken);
        Nudge(id);
        return created;
    }

    /// <summary>A scoring job stored its score: the orders waiting for it are due now.</summary>
    public async Task ScoreReadyAsync(string scoreKey, CancellationToken cancellationToken)
    {
        if (await outbox.ScoreReadyAsync(scoreKey, cancellationToken) > 0)
        {
            Nudge(scoreKey);
        }
    }

    /// <summary>Writes every due item while this process holds the drain lease, each FHIR server on its own. Returns how many were written.</summary>
    public async Task<int> DrainAsync(CancellationToken cancellationToken)
    {
        var lease = TimeSpan.FromSeconds(Math.Max(30, options.Value.TimeoutSeconds * 3));
        if (!await leases.TryAcquireAsync(DrainLease, Owner, lease, cancellationToken))
        {
            return 0;
        }

        var written = 0;
        try
        {
            var now = time.GetUtcNow();
            var servers = (await outbox.ServersWithDueItemsAsync(cancellationToken))
                .Where(s => !_serverBackoff.TryGetValue(s, out var until) || until <= now)
                .ToList();
            await Parallel.ForEachAsync(servers, new ParallelOptions { MaxDegreeOfParallelism = ParallelServers, CancellationToken = cancellationToken },
                async (server, token) => Interlocked.Add(ref written, await DrainServerAsync(server, lease, token)));
        }
        finally
        {
            await leases.ReleaseAsync(DrainLease, Owner, CancellationToken.None);
        }

        if (metrics is not null)
        {
            var (depth, oldest) = await outbox.PendingSummaryAsync(cancellationToken);
            metrics.OutboxState(depth, oldest is { } created ? time.GetUtcNow() - created : TimeSpan.Zero);
        }

        return written;
    }

    // One server's due items, one after the other, until none is due or the server fails (then it backs off as a whole).
    private async Task<int> DrainServerAsync(string server, TimeSpan lease, CancellationToken cancellationToken)
    {
        var written = 0;
        while (!cancellationToken.IsCancellationRequested && await outbox.ClaimDueAsync(Owner, lease, cancellationToken, onlyServer: server) is { } item)
        {
            var attempt = await WriteAsync(item, cancellationToken);
            if (attempt.Written)
            {
                await outbox.MarkWrittenAsync(item.Id, Owner, attempt.Location, CancellationToken.None, item.Version);
                credentials.Release(item.Id);
                metrics?.WriteBackWritten(item.FhirServer);
                logger.OutboxWritten(item.Id, HostOf(item.FhirServer), attempt.Location);
                written++;
            }
            else if (attempt.Deferred is { } until)
            {
                await outbox.DeferAsync(item.Id, Owner, attempt.Error!, until, CancellationToken.None);
            }
            else if (attempt.Dropped)
            {
                await outbox.MarkDroppedAsync(item.Id, Owner, attempt.Error!, CancellationToken.None, item.Version);
                credentials.Release(item.Id);
                logger.OutboxDropped(item.Id, attempt.Error!);
            }
            else if (attempt.Final)
            {
                metrics?.WriteBackFailed(item.FhirServer, attempt.Error!);
                await outbox.MarkFailedAsync(item.Id, Owner, attempt.Error!, time.GetUtcNow(), final: true, CancellationToken.None, item.Version);
                credentials.Release(item.Id);
                logger.OutboxRejected(item.Id, attempt.Error!);
            }
            else
            {
                metrics?.WriteBackFailed(item.FhirServer, attempt.Error!);
                var delay = Backoff(item.Attempts + 1);
                await outbox.MarkFailedAsync(item.Id, Owner, attempt.Error!, time.GetUtcNow() + delay, final: false, CancellationToken.None, item.Version);
                logger.OutboxRetry(item.Id, item.Attempts + 1, attempt.Error!, (int)delay.TotalSeconds);
                if (attempt.ServerFailed)
                {
                    // The server itself failed (unreachable, 5xx, no answer): its other items wait too, other servers go on.
                    _serverBackoff[server] = time.GetUtcNow() + delay;
                    logger.OutboxServerBackoff(HostOf(server), attempt.Error!, (int)delay.TotalSeconds);
                    break;
                }
            }

            await leases.TryAcquireAsync(DrainLease, Owner, lease, cancellationToken);
        }

        if (written > 0)
        {
            _serverBackoff.TryRemove(server, out _);
        }

        return written;
    }

    internal async Task<WriteAttempt> WriteAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(item.FhirServer, UriKind.Absolute, out var server) || !_allowed.Admits(server))
        {
            return new WriteAttempt(false, true, null, "the FHIR server is not on Fhir:AllowedServers");
        }

        string payload;
        if (item.Kind == RiskAssessmentWriteBack.Kind)
        {
            var (transaction, wait) = await TransactionForAsync(item, cancellationToken);
            if (transaction is null)
            {
                return wait;
            }

            payload = transaction;
        }
        else
        {
            payload = item.PayloadJson;
        }

        var token = await credentials.GetWriteTokenAsync(item.Id, item.FhirServer, cancellationToken);
        if (token is null)
        {
            if (_warnedNoCredential.TryAdd(item.FhirServer, 0))
            {
                logger.NoWriteCredential(HostOf(item.FhirServer));
            }

            return new WriteAttempt(false, false, null,
                "no credential can write to this FHIR server: the hook sent no fhirAuthorization token with write scope, and WriteBack:BackendClients has no entry for it");
        }

        using var http = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(item.FhirServer.TrimEnd('/') + "/"))
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/fhir+json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/fhir+json"));
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.TimeoutSeconds));
            using var response = await http.SendAsync(request, timeout.Token);
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            if (response.IsSuccessStatusCode)
            {
                return new WriteAttempt(true, false, RiskAssessmentLocation(body), null);
            }

            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                credentials.Forget(item.Id, token);
            }

            var serverFailed = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            var retryable = serverFailed || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden;
            return new WriteAttempt(false, !retryable, null, $"HTTP {(int)response.StatusCode}") { ServerFailed = serverFailed };
        }
        catch (HttpRequestException ex)
        {
            return new WriteAttempt(false, false, null, "connection failed: " + (ex.HttpRequestError == HttpRequestError.Unknown ? ex.GetType().Name : ex.HttpRequestError.ToString()))
            {
                ServerFailed = true,
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WriteAttempt(false, false, null, $"no answer within {options.Value.TimeoutSeconds} s") { ServerFailed = true };
        }
    }

    // An order becomes its FHIR transaction once its PRE is stored; until then it waits (without counting attempts).
    private async Task<(string? Transaction, WriteAttempt Wait)> TransactionForAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        RiskAssessmentOrder order;
        try
        {
            order = RiskAssessmentOrder.FromJson(item.PayloadJson);
        }
        catch (JsonException)
        {
            return (null, new WriteAttempt(false, true, null, "the stored write-back order cannot be read"));
        }

        if (await scores.GetAsync(order.ScoreKey, cancellationToken) is not { } stored)
        {
            var now = time.GetUtcNow();
            return now - item.Created > ScoreWaitLimit
                ? (null, new WriteAttempt(false, true, null, $"no PRE score within {ScoreWaitLimit.TotalHours:0} hours") { Dropped = true })
                : (null, new WriteAttempt(false, false, null, "waiting for the PRE score") { Deferred = now + TimeSpan.FromSeconds(options.Value.PollSeconds * 6) });
        }

        var score = ScoringJson.ReadOutcome(stored);
        if (order.ToAssessment(score) is not { } assessment)
        {
            var why = score.Pre is null ? "the MRI could not be scored: " + string.Join("; ", score.Refusals) : "the score is from another model";
            return (null, new WriteAttempt(false, true, null, why) { Dropped = true });
        }

        try
        {
            return (FhirJson.SerializeToString(WriteBackBundle.Transaction(assessment)), new WriteAttempt(false, false, null, null));
        }
        catch (AssessmentInputException ex)
        {
            return (null, new WriteAttempt(false, true, null, "the RiskAssessment cannot be written: " + ex.Message));
        }
    }

    /// <summary>
    /// "RiskAssessment/{id}" from a transaction-response Bundle: the entry's response.location (relative or absolute, with or without
    /// _history), or the returned resource when a conditional create found the existing one.
    /// </summary>
    internal static string? RiskAssessmentLocation(string body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            if (!json.RootElement.TryGetProperty("entry", out var entries) || entries.ValueKind != JsonValueKind.Array) return null;
            foreach (var entry in entries.EnumerateArray())
            {
                if (entry.TryGetProperty("response", out var response) && response.TryGetProperty("location", out var location)
                    && location.GetString() is { } text && text.IndexOf("RiskAssessment/", StringComparison.Ordinal) is var at and >= 0)
                {
                    var parts = text[at..].Split('/');
                    return parts.Length >= 2 && parts[1].Length > 0 ? "RiskAssessment/" + parts[1] : null;
                }

                if (entry.TryGetProperty("resource", out var resource) && resource.TryGetProperty("resourceType", out var type)
                    && type.GetString() == "RiskAssessment" && resource.TryGetProperty("id", out var id))
                {
                    return "RiskAssessment/" + id.GetString();
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static string HostOf(string url) => Uri.TryCreate(url, UriKind.Absolute, out var u) ? u.Host : "?";

    private TimeSpan Backoff(int attempt)
    {
        var o = options.Value;
        var seconds = Math.Min(o.MaxRetrySeconds, o.FirstRetrySeconds * Math.Pow(2, Math.Min(attempt - 1, 20)));
        // Full jitter in the upper half keeps replicas and retries from marching in step.
#pragma warning disable CA5394 // retry jitter, not a secret
        return TimeSpan.FromSeconds(seconds * (0.5 + Random.Shared.NextDouble() * 0.5));
#pragma warning restore CA5394
    }
}

/// <summary>Drains the outbox when nudged by a new write and on a timer (items waiting for their backoff, or left by a stopped process).</summary>
internal sealed class OutboxWorker(OutboxWriter writer, ScoreStoredSignal scores, IOptions<WriteBackOptions> options, ILogger<OutboxWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _ = ForwardStoredScoresAsync(stoppingToken);
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await writer.StoreDeferredAsync(stoppingToken);
                await writer.DrainAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.OutboxDrainError(ex.GetType().Name);
            }

            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            wait.CancelAfter(poll);
            try
            {
                await writer.Nudges.WaitToReadAsync(wait.Token);
                while (writer.Nudges.TryRead(out _))
                {
                }
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
            }
        }
    }

    // A job stored a score: the orders waiting for it become due and the drain runs.
    private async Task ForwardStoredScoresAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var key in scores.Keys.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await writer.ScoreReadyAsync(key, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.OutboxDrainError(ex.GetType().Name); // the items are found by the next poll anyway
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
