using System.Collections.Concurrent;
using CdsRisk.Api.Diagnostics;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.Api.Auth;

/// <summary>Fetched JSON Web Key Sets, cached per URL and refreshed when a token names an unknown <c>kid</c> (at most once per <c>Auth:JwksRefreshSeconds</c>).</summary>
public sealed class JwksCache(IHttpClientFactory httpClients, IOptions<AuthOptions> options, TimeProvider time, ILogger<JwksCache> logger)
{
    public const string HttpClientName = "jwks";

    private sealed record Entry(IReadOnlyList<JsonWebKey> Keys, DateTimeOffset FetchedAt);

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastRefresh = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _lastFailure = new(StringComparer.Ordinal);
    private readonly AuthOptions _options = options.Value;

    private TimeSpan RefreshInterval => TimeSpan.FromSeconds(_options.JwksRefreshSeconds);

    public async Task<JsonWebKey?> FindKeyAsync(Uri jwksUrl, string kid, CancellationToken cancellationToken)
    {
        var url = jwksUrl.AbsoluteUri;
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(url, out var entry) && now - entry.FetchedAt < TimeSpan.FromSeconds(_options.JwksCacheSeconds))
        {
            var cached = Find(entry.Keys, kid);
            if (cached is not null)
            {
                return cached;
            }

            // An unknown kid may be a rotated key: refresh, but at most once per interval, so that a flood of
            // made-up kids does not become a flood of JWKS downloads.
            if (_lastRefresh.TryGetValue(url, out var last) && now - last < RefreshInterval)
            {
                return null;
            }

            _lastRefresh[url] = now;
        }
        else if (_lastFailure.TryGetValue(url, out var failedAt) && now - failedAt < RefreshInterval)
        {
            return entry is null ? null : Find(entry.Keys, kid);
        }

        var keys = await FetchAsync(jwksUrl, cancellationToken);
        if (keys is null)
        {
            _lastFailure[url] = now;

            // A key set past its cache time is still better than none while its host is down.
            return entry is null ? null : Find(entry.Keys, kid);
        }

        _entries[url] = new Entry(keys, now);
        return Find(keys, kid);
    }

    public static JsonWebKey? Find(IEnumerable<JsonWebKey> keys, string kid) =>
        keys.FirstOrDefault(k => string.Equals(k.Kid, kid, StringComparison.Ordinal) && (string.IsNullOrEmpty(k.Use) || k.Use == "sig"));

    private async Task<IReadOnlyList<JsonWebKey>?> FetchAsync(Uri jwksUrl, CancellationToken cancellationToken)
    {
        try
        {
            using var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.GetAsync(jwksUrl, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                logger.JwksFetchFailed(jwksUrl.Host, "HTTP " + (int)response.StatusCode);
                return null;
            }

            var json = await response.Content.ReadAsStringAsync(cancellationToken);
            return [.. new JsonWebKeySet(json).Keys];
        }
        catch (Exception e) when (e is HttpRequestException or ArgumentException or TaskCanceledException or Polly.Timeout.TimeoutRejectedException or Polly.CircuitBreaker.BrokenCircuitException)
        {
            logger.JwksFetchFailed(jwksUrl.Host, e.GetType().Name);
            return null;
        }
    }
}
