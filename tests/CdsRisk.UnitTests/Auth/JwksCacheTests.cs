using Microsoft.Extensions.Time.Testing;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.Api.Auth;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.UnitTests.Auth;

/// <summary>Issue 13 item 14: JWKS fetches are rationed per client, not per URL, and the cache is bounded.</summary>
public sealed class JwksCacheTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private static readonly ECDsaSecurityKey Key = new(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = "k1" };

    /// <summary>Serves the one key set at every URL and counts the requests (optionally holding each for a while).</summary>
    private sealed class CountingJwks(TimeSpan delay = default) : HttpMessageHandler, IHttpClientFactory
    {
        public ConcurrentQueue<string> Requests { get; } = new();

        public HttpClient CreateClient(string name) => new(this, disposeHandler: false);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Requests.Enqueue(request.RequestUri!.AbsoluteUri);
            if (delay > TimeSpan.Zero)
            {
                await Task.Delay(delay, cancellationToken);
            }

            var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(Key);
            var json = JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", kid = jwk.Kid, crv = jwk.Crv, x = jwk.X, y = jwk.Y } } });
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(json) };
        }
    }

    private static JwksCache Cache(CountingJwks http, TimeProvider time, int maxEntries = 64) =>
        new(http, Options.Create(new AuthOptions { JwksRefreshSeconds = 30, JwksCacheSeconds = 3600, JwksCacheMaxEntries = maxEntries }), time,
            NullLogger<JwksCache>.Instance);

    [Fact]
    public async Task JwksFetchAmplification_FortyDistinctJkuUrls_CostAtMostTheClientsBurst()
    {
        using var http = new CountingJwks();
        var cache = Cache(http, new FakeTimeProvider(Start));

        for (var i = 0; i < 40; i++)
        {
            await cache.FindKeyAsync("https://sandbox.example", new Uri($"https://sandbox.example/keys/{i}/jwks.json"), "k1", CancellationToken.None);
        }

        Assert.Equal(2, http.Requests.Count);
    }

    [Fact]
    public async Task JwksFetchAmplification_FortyConcurrentCalls_ShareOneDownloadPerUrl()
    {
        using var http = new CountingJwks(TimeSpan.FromMilliseconds(200));
        var cache = Cache(http, new FakeTimeProvider(Start));
        var url = new Uri("https://ehr.example/jwks.json");

        var keys = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => cache.FindKeyAsync("https://ehr.example", url, "k1", CancellationToken.None)));

        Assert.Single(http.Requests);
        Assert.All(keys, k => Assert.Equal("k1", k!.Kid));
    }

    [Fact]
    public async Task UnknownKids_RefreshAtMostOncePerInterval_PerClient()
    {
        using var http = new CountingJwks();
        var time = new FakeTimeProvider(Start);
        var cache = Cache(http, time);
        var url = new Uri("https://ehr.example/jwks.json");
        Assert.NotNull(await cache.FindKeyAsync("ehr", url, "k1", CancellationToken.None));

        for (var i = 0; i < 10; i++)
        {
            Assert.Null(await cache.FindKeyAsync("ehr", url, "made-up-" + i, CancellationToken.None));
        }

        Assert.Equal(2, http.Requests.Count); // the first fetch, and one refresh of the burst

        time.SetUtcNow(Start.AddSeconds(31));
        Assert.Null(await cache.FindKeyAsync("ehr", url, "made-up-again", CancellationToken.None));
        Assert.Equal(3, http.Requests.Count);

        // Another client has an allowance of its own.
        Assert.NotNull(await cache.FindKeyAsync("other", new Uri("https://other.example/jwks.json"), "k1", CancellationToken.None));
        Assert.Equal(4, http.Requests.Count);
    }

    [Fact]
    public async Task TheCache_HoldsAtMostItsConfiguredEntries()
    {
        using var http = new CountingJwks();
        var time = new FakeTimeProvider(Start);
        var cache = Cache(http, time, maxEntries: 3);

        for (var i = 0; i < 10; i++)
        {
            time.SetUtcNow(Start.AddMinutes(i));
            Assert.NotNull(await cache.FindKeyAsync("client-" + i, new Uri($"https://host{i}.example/jwks.json"), "k1", CancellationToken.None));
            Assert.InRange(cache.Count, 1, 3);
        }

        // The newest are the ones kept: no fetch for the last URL.
        Assert.NotNull(await cache.FindKeyAsync("client-9", new Uri("https://host9.example/jwks.json"), "k1", CancellationToken.None));
        Assert.Equal(10, http.Requests.Count);
    }
}
