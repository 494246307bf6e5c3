using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>Issue 13 item 14, through HTTP with a loopback JWKS server counting its requests.</summary>
public sealed class JwksFetchTests : IAsyncLifetime
{
    private const string Issuer = "https://jku-client.example";
    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "k1" };
    private LoopbackHttpServer _jwks = null!;
    private CdsRiskApiFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(_key);
        var document = JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", kid = "k1", crv = jwk.Crv, x = jwk.X, y = jwk.Y } } });
        // Serves the client's key at any path under /keys/.
        _jwks = await LoopbackHttpServer.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync(document);
        });
        _factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:Clients:0:Issuer"] = Issuer,
            ["Auth:Clients:0:AllowedJku:0"] = _jwks.BaseAddress + "keys/",
        });
        _client = _factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _factory.Dispose();
        await _jwks.DisposeAsync();
    }

    private string Token(string jku)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["aud"] = CdsRiskApiFactory.PublicBaseUrl + "/cds-services", ["iat"] = now, ["exp"] = now + 300, ["jti"] = Guid.NewGuid().ToString(),
        });
        return new JsonWebTokenHandler().CreateToken(payload, new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha384), new Dictionary<string, object> { ["jku"] = jku });
    }

    private async Task<HttpStatusCode> DiscoverAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task JwksFetchAmplification_FortyDistinctJkuUrls_DoNotMakeFortyFetches()
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 40; i++)
        {
            statuses.Add(await DiscoverAsync(Token($"{_jwks.BaseAddress}keys/{i}/jwks.json")));
        }

        // The client's burst of two fetches, then nothing until Auth:JwksRefreshSeconds has passed.
        Assert.Equal(2, _jwks.Requests.Count);
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.OK));

        // The keys fetched stay usable: a token naming a cached jku costs no fetch.
        Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(Token($"{_jwks.BaseAddress}keys/0/jwks.json")));
        Assert.Equal(2, _jwks.Requests.Count);
    }

    [Fact]
    public async Task JwksFetchAmplification_ConcurrentFirstCalls_ShareOneFetch()
    {
        var jku = $"{_jwks.BaseAddress}keys/shared/jwks.json";
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => DiscoverAsync(Token(jku))));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Single(_jwks.Requests);
    }
}
