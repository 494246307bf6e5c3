using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.WriteBack;

/// <summary>The result of one attempt to write an outbox item.</summary>
public sealed record WriteAttempt(bool Written, bool Final, string? Location, string? Error);

/// <summary>
/// Writes outbox items to the EHR's FHIR server and drains the outbox: one process at a time (a database lease), each item
/// retried with exponential backoff and jitter until written. Every write is idempotent (conditional create / PUT on a
/// deterministic id), so a retry after a lost response never duplicates.
/// </summary>
public sealed class OutboxWriter(
    OutboxStore outbox,
    LeaseStore leases,
    FhirCredentials credentials,
    IHttpClientFactory httpClients,
    IOptions<WriteBackOptions> options,
    IOptions<FhirOptions> fhirOptions,
    TimeProvider time,
    ILogger<OutboxWriter> logger)
{
    public const string HttpClientName = "cdsrisk-fhir-write";
    public const string DrainLease = "outbox-drain";
    private readonly Channel<string> _nudges = Channel.CreateBounded<string>(new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest });
    private readonly AllowedBaseUrls _allowed = AllowedBaseUrls.Parse(fhirOptions.Value.AllowedServers);

    public string Owner { get; } = $"{Environment.ProcessId}-{Guid.NewGuid():N}";

    internal ChannelReader<string> Nudges => _nudges.Reader;

    /// <summary>Stores the write (once per id) and asks the drain to try it now.</summary>
    public async Task<bool> EnqueueAsync(string id, string kind, string fhirServer, string payloadJson, CancellationToken cancellationToken)
    {
        var created = await outbox.EnqueueAsync(id, kind, fhirServer, payloadJson, cancellationToken);
        _nudges.Writer.TryWrite(id);
        return created;
    }

    /// <summary>Writes every due item while this process holds the drain lease. Returns how many were written.</summary>
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
            while (!cancellationToken.IsCancellationRequested && await outbox.ClaimDueAsync(Owner, lease, cancellationToken) is { } item)
            {
                var attempt = await WriteAsync(item, cancellationToken);
                if (attempt.Written)
                {
                    await outbox.MarkWrittenAsync(item.Id, Owner, attempt.Location, CancellationToken.None);
                    logger.OutboxWritten(item.Id, new Uri(item.FhirServer).Host, attempt.Location);
                    written++;
                }
                else if (attempt.Final)
                {
                    await outbox.MarkFailedAsync(item.Id, Owner, attempt.Error!, time.GetUtcNow(), final: true, CancellationToken.None);
                    logger.OutboxRejected(item.Id, attempt.Error!);
                }
                else
                {
                    var delay = Backoff(item.Attempts + 1);
                    await outbox.MarkFailedAsync(item.Id, Owner, attempt.Error!, time.GetUtcNow() + delay, final: false, CancellationToken.None);
                    logger.OutboxRetry(item.Id, item.Attempts + 1, attempt.Error!, (int)delay.TotalSeconds);
                }

                await leases.TryAcquireAsync(DrainLease, Owner, lease, cancellationToken);
            }
        }
        finally
        {
            await leases.ReleaseAsync(DrainLease, Owner, CancellationToken.None);
        }

        return written;
    }

    internal async Task<WriteAttempt> WriteAsync(OutboxItem item, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(item.FhirServer, UriKind.Absolute, out var server) || !_allowed.Admits(server))
        {
            return new WriteAttempt(false, true, null, "the FHIR server is not on Fhir:AllowedServers");
        }

        var token = await credentials.GetWriteTokenAsync(item.FhirServer, cancellationToken);
        if (token is null)
        {
            return new WriteAttempt(false, false, null, "no credential with write scope for this FHIR server yet (waiting for a hook token or a backend client)");
        }

        using var http = httpClients.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(item.FhirServer.TrimEnd('/') + "/"))
        {
            Content = new StringContent(item.PayloadJson, Encoding.UTF8, "application/fhir+json"),
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
                credentials.Forget(item.FhirServer, token);
            }

            var retryable = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                or HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
            return new WriteAttempt(false, !retryable, null, $"HTTP {(int)response.StatusCode}");
        }
        catch (HttpRequestException ex)
        {
            return new WriteAttempt(false, false, null, "connection failed: " + (ex.HttpRequestError == HttpRequestError.Unknown ? ex.GetType().Name : ex.HttpRequestError.ToString()));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new WriteAttempt(false, false, null, $"no answer within {options.Value.TimeoutSeconds} s");
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

    private TimeSpan Backoff(int attempt)
    {
        var o = options.Value;
        var seconds = Math.Min(o.MaxRetrySeconds, o.FirstRetrySeconds * Math.Pow(2, Math.Min(attempt - 1, 20)));
        // Full jitter in the upper half keeps replicas and retries from marching in step.
        return TimeSpan.FromSeconds(seconds * (0.5 + Random.Shared.NextDouble() * 0.5));
    }
}

/// <summary>Drains the outbox when nudged by a new write and on a timer (items waiting for their backoff, or left by a stopped process).</summary>
internal sealed class OutboxWorker(OutboxWriter writer, IOptions<WriteBackOptions> options, ILogger<OutboxWorker> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
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
}
