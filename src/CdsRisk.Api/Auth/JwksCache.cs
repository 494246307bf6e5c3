using System.Collections.Concurrent;
using CdsRisk.Api.Diagnostics;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

/// <summary>
/// Fetched JSON Web Key Sets, cached per URL (at most <c>Auth:JwksCacheMaxEntries</c>, the oldest dropped first). A fetch happens for
/// a URL not cached, a cache past <c>Auth:JwksCacheSeconds</c>, or an unknown <c>kid</c> (a rotated key), and is rationed per client
/// (issuer), not per URL: a burst of two, then one per <c>Auth:JwksRefreshSeconds</c>, so that tokens naming ever new <c>jku</c> URLs
/// or made-up kids cannot turn into a flood of downloads. Calls waiting on the same URL share one download.
/// </summary>
public sealed class JwksCache(IHttpClientFactory httpClients, IOptions<AuthOptions> options, TimeProvider time, ILogger<JwksCache> logger)
{
    public const string HttpClientName = "jwks";

    /// <summary>Largest JWKS document read.</summary>
    public const int MaxDocumentBytes = 256 * 1024;

    private const double FetchBurst = 2;

    private sealed record Entry(IReadOnlyList<JsonWebKey> Keys, DateTimeOffset FetchedAt);

    private sealed class FetchAllowance(double tokens, DateTimeOffset at)
    {
        public double Tokens { get; set; } = tokens;
        public DateTimeOffset At { get; set; } = at;
    }

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<IReadOnlyList<JsonWebKey>?>> _inFlight = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FetchAllowance> _allowances = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly AuthOptions _options = options.Value;

    /// <summary>Key sets held now (for tests and metrics).</summary>
    public int Count => _entries.Count;

    /// <summary>The key <paramref name="kid"/> of the set at <paramref name="jwksUrl"/>; <paramref name="client"/> (the issuer) is charged for any fetch.</summary>
    public async Task<JsonWebKey?> FindKeyAsync(string client, Uri jwksUrl, string kid, CancellationToken cancellationToken)
    {
        var url = jwksUrl.AbsoluteUri;
        var now = time.GetUtcNow();
        _entries.TryGetValue(url, out var entry);
        if (entry is not null && now - entry.FetchedAt < TimeSpan.FromSeconds(_options.JwksCacheSeconds) && Find(entry.Keys, kid) is { } cached)
        {
            return cached;
        }

        var fetch = StartFetch(client, url, jwksUrl, kid, now);
        if (fetch is null)
        {
            // Rationed: a key set past its cache time is still better than none (read again: a fetch may have ended meanwhile).
            return _entries.TryGetValue(url, out entry) ? Find(entry.Keys, kid) : null;
        }

        var keys = await fetch.WaitAsync(cancellationToken);
        return keys is not null ? Find(keys, kid) : _entries.TryGetValue(url, out entry) ? Find(entry.Keys, kid) : null;
    }

    public static JsonWebKey? Find(IEnumerable<JsonWebKey> keys, string kid) =>
        keys.FirstOrDefault(k => string.Equals(k.Kid, kid, StringComparison.Ordinal) && (string.IsNullOrEmpty(k.Use) || k.Use == "sig"));

    /// <returns>The download of <paramref name="url"/> under way or just started; null when the client has used its allowance.</returns>
    private Task<IReadOnlyList<JsonWebKey>?>? StartFetch(string client, string url, Uri jwksUrl, string kid, DateTimeOffset now)
    {
        lock (_gate)
        {
            if (_inFlight.TryGetValue(url, out var running))
            {
                return running;
            }

            // A download that ended between the caller's look at the cache and this lock: its keys, without another download.
            if (_entries.TryGetValue(url, out var fresh) && now - fresh.FetchedAt < TimeSpan.FromSeconds(_options.JwksCacheSeconds)
                && Find(fresh.Keys, kid) is not null)
            {
                return Task.FromResult<IReadOnlyList<JsonWebKey>?>(fresh.Keys);
            }

            var interval = TimeSpan.FromSeconds(_options.JwksRefreshSeconds);
            if (!_allowances.TryGetValue(client, out var allowance))
            {
                allowance = new FetchAllowance(FetchBurst, now);
                _allowances[client] = allowance;
            }

            allowance.Tokens = Math.Min(FetchBurst, allowance.Tokens + Math.Max(0, (now - allowance.At) / interval));
            allowance.At = now;
            if (allowance.Tokens < 1)
            {
                return null;
            }

            allowance.Tokens -= 1;
            // Not tied to the first caller's cancellation: others may wait on it; the resilience pipeline bounds its time.
            var fetch = FetchAsync(jwksUrl);
            _inFlight[url] = fetch;
            // Registered after the task is in the map, so a fetch that ends at once is still removed.
            _ = fetch.ContinueWith(done => Complete(url, done, now), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return fetch;
        }
    }

    private void Complete(string url, Task<IReadOnlyList<JsonWebKey>?> done, DateTimeOffset fetchedAt)
    {
        lock (_gate)
        {
            if (done.IsCompletedSuccessfully && done.Result is { } keys)
            {
                if (!_entries.ContainsKey(url) && _entries.Count >= _options.JwksCacheMaxEntries
                    && _entries.MinBy(e => e.Value.FetchedAt) is { Key: { } oldest })
                {
                    _entries.TryRemove(oldest, out _);
                }

                _entries[url] = new Entry(keys, fetchedAt);
            }

            _inFlight.TryRemove(new KeyValuePair<string, Task<IReadOnlyList<JsonWebKey>?>>(url, done));
        }
    }

    private async Task<IReadOnlyList<JsonWebKey>?> FetchAsync(Uri jwksUrl)
    {
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(jwksUrl, CancellationToken.None);
            if (!response.IsSuccessStatusCode)
            {
                logger.JwksFetchFailed(jwksUrl.Host, "HTTP " + (int)response.StatusCode);
                return null;
            }

            var json = await response.Content.ReadAsStringAsync(CancellationToken.None);
            return [.. new JsonWebKeySet(json).Keys];
        }
#pragma warning disable CA1031 // any failure of a client's key server means "no keys": the token is refused, the service goes on
        catch (Exception e)
#pragma warning restore CA1031
        {
            // Whatever went wrong (refused, timed out, too large, not a key set), the caller only learns that there are no keys.
            logger.JwksFetchFailed(jwksUrl.Host, e.GetType().Name);
            return null;
        }
    }
}
