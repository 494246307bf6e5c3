using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>CDS Hooks 2.0 §Trusting CDS Clients, through HTTP, with keys served from a JWKS on loopback.</summary>
public sealed class ClientAuthenticationTests : IAsyncLifetime
{
    private const string EhrIssuer = "https://ehr.example.org";
    private const string SandboxIssuer = "https://sandbox.example.org";
    private const string CalledUrl = "http://localhost/cds-services";

    private readonly ECDsaSecurityKey _es384 = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ehr-es384" };
    private readonly RsaSecurityKey _rs384 = new(RSA.Create(2048)) { KeyId = "ehr-rs384" };
    private readonly ECDsaSecurityKey _sandboxKey = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "sandbox-1" };
    private readonly ECDsaSecurityKey _intruder = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ehr-es384" };
    private readonly ECDsaSecurityKey _rotated = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ehr-es384-2027" };
    private volatile bool _keyRotated;

    private LoopbackHttpServer _jwks = null!;
    private CdsRiskApiFactory _factory = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _jwks = await LoopbackHttpServer.StartAsync(context =>
        {
            context.Response.ContentType = "application/json";
            return context.Request.Path.Value switch
            {
                "/ehr/jwks.json" => context.Response.WriteAsync(_keyRotated ? Jwks(_es384, _rs384, _rotated) : Jwks(_es384, _rs384)),
                "/trusted/sandbox/jwks.json" => context.Response.WriteAsync(Jwks(_sandboxKey)),
                _ => context.Response.WriteAsync(Jwks(_intruder)),
            };
        });
        _factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:ClockSkewSeconds"] = "30",
            ["Auth:Clients:0:Issuer"] = EhrIssuer,
            ["Auth:Clients:0:JwksUrl"] = _jwks.BaseAddress + "ehr/jwks.json",
            ["Auth:Clients:1:Issuer"] = SandboxIssuer,
            ["Auth:Clients:1:AllowedJku:0"] = _jwks.BaseAddress + "trusted/",
        });
        _client = _factory.CreateClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _factory.Dispose();
        await _jwks.DisposeAsync();
    }

    private static string Jwks(params AsymmetricSecurityKey[] keys) => JsonSerializer.Serialize(new
    {
        keys = keys.Select(k => k switch
        {
            ECDsaSecurityKey ec => (object)JsonWebKeyConverter.ConvertFromECDsaSecurityKey(ec),
            RsaSecurityKey rsa => JsonWebKeyConverter.ConvertFromRSASecurityKey(rsa),
            _ => throw new ArgumentException("key type"),
        }).Select(jwk => ToPublicJwk((JsonWebKey)jwk)),
    });

    private static Dictionary<string, string> ToPublicJwk(JsonWebKey k)
    {
        var jwk = new Dictionary<string, string> { ["kty"] = k.Kty, ["kid"] = k.Kid, ["use"] = "sig" };
        if (k.Kty == "EC")
        {
            jwk["crv"] = k.Crv;
            jwk["x"] = k.X;
            jwk["y"] = k.Y;
        }
        else
        {
            jwk["n"] = k.N;
            jwk["e"] = k.E;
        }

        return jwk;
    }

    private string Token(SecurityKey key, string alg, string issuer = EhrIssuer, string audience = CalledUrl, DateTime? expires = null,
        DateTime? issuedAt = null, string? jti = null, string? jku = null, bool withJti = true)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object>();
        if (withJti)
        {
            claims["jti"] = jti ?? Guid.NewGuid().ToString();
        }

        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = issuedAt ?? now,
            NotBefore = (issuedAt ?? now) > now ? now.AddMinutes(-1) : issuedAt ?? now,
            Expires = expires ?? now.AddMinutes(5),
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, alg),
            TokenType = "JWT",
        };
        if (jku is not null)
        {
            descriptor.AdditionalHeaderClaims = new Dictionary<string, object> { ["jku"] = jku };
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    private async Task<HttpResponseMessage> DiscoverAsync(string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return await _client.SendAsync(request);
    }

    private async Task AssertRejected(string? token)
    {
        var response = await DiscoverAsync(token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ES384_FromConfiguredJwksUrl_IsAccepted() =>
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_es384, SecurityAlgorithms.EcdsaSha384))).StatusCode);

    [Fact]
    public async Task RS384_FromConfiguredJwksUrl_IsAccepted() =>
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_rs384, SecurityAlgorithms.RsaSha384))).StatusCode);

    [Fact]
    public async Task ES384_FromAnAllowedJku_IsAccepted() =>
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_sandboxKey, SecurityAlgorithms.EcdsaSha384, issuer: SandboxIssuer,
            jku: _jwks.BaseAddress + "trusted/sandbox/jwks.json"))).StatusCode);

    [Fact]
    public async Task AudienceAsArrayContainingTheUrl_IsAccepted()
    {
        var token = Token(_es384, SecurityAlgorithms.EcdsaSha384, audience: "https://other.example.org");
        // Rebuild with an aud array: the handler writes a single aud, so add the claim set directly.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object>
        {
            ["iss"] = EhrIssuer, ["aud"] = new[] { "https://other.example.org", CalledUrl }, ["exp"] = now + 300, ["iat"] = now, ["jti"] = Guid.NewGuid().ToString(),
        };
        token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(
            JsonSerializer.Serialize(payload), new SigningCredentials(_es384, SecurityAlgorithms.EcdsaSha384));

        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(token)).StatusCode);
    }

    [Fact]
    public async Task HookCall_NeedsTheTokenToo_AndAudIsTheServiceUrl()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, HookRequests.PatientViewPath) { Content = HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())) };
        request.Headers.Authorization = new("Bearer", Token(_es384, SecurityAlgorithms.EcdsaSha384, audience: "http://localhost" + HookRequests.PatientViewPath));
        Assert.Equal(HttpStatusCode.OK, (await _client.SendAsync(request)).StatusCode);

        using var unsigned = new HttpRequestMessage(HttpMethod.Post, HookRequests.PatientViewPath) { Content = HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await _client.SendAsync(unsigned)).StatusCode);
    }

    [Fact]
    public async Task KeySet_IsCached_AndRefreshedOnceWhenAnUnknownKidArrives()
    {
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_es384, SecurityAlgorithms.EcdsaSha384))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_rs384, SecurityAlgorithms.RsaSha384))).StatusCode);
        Assert.Single(_jwks.Requests);

        _keyRotated = true;
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(Token(_rotated, SecurityAlgorithms.EcdsaSha384))).StatusCode);
        Assert.Equal(2, _jwks.Requests.Count);

        // A flood of unknown kids does not turn into a flood of JWKS downloads (Auth:JwksRefreshSeconds).
        var unknown = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "never-published" };
        await AssertRejected(Token(unknown, SecurityAlgorithms.EcdsaSha384));
        await AssertRejected(Token(unknown, SecurityAlgorithms.EcdsaSha384));
        Assert.Equal(2, _jwks.Requests.Count);
    }

    [Fact]
    public Task NoToken_Gets401() => AssertRejected(null);

    [Fact]
    public Task BadSignature_Gets401() => AssertRejected(Token(_intruder, SecurityAlgorithms.EcdsaSha384));

    [Fact]
    public Task AlgNone_Gets401()
    {
        static string B64(string s) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(s));
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64("""{"alg":"none","typ":"JWT","kid":"ehr-es384"}""");
        var payload = B64($$"""{"iss":"{{EhrIssuer}}","aud":"{{CalledUrl}}","exp":{{now + 300}},"iat":{{now}},"jti":"{{Guid.NewGuid()}}"}""");
        return AssertRejected($"{header}.{payload}.");
    }

    [Fact]
    public Task HS256_Gets401() =>
        AssertRejected(Token(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "ehr-es384" }, SecurityAlgorithms.HmacSha256));

    [Fact]
    public Task Expired_Gets401() =>
        AssertRejected(Token(_es384, SecurityAlgorithms.EcdsaSha384, issuedAt: DateTime.UtcNow.AddMinutes(-20), expires: DateTime.UtcNow.AddMinutes(-10)));

    [Fact]
    public Task IssuedInTheFutureBeyondSkew_Gets401() =>
        AssertRejected(Token(_es384, SecurityAlgorithms.EcdsaSha384, issuedAt: DateTime.UtcNow.AddMinutes(5), expires: DateTime.UtcNow.AddMinutes(10)));

    [Fact]
    public Task WrongAudience_Gets401() => AssertRejected(Token(_es384, SecurityAlgorithms.EcdsaSha384, audience: CalledUrl + "/"));

    [Fact]
    public Task UnknownIssuer_Gets401() => AssertRejected(Token(_es384, SecurityAlgorithms.EcdsaSha384, issuer: "https://evil.example.org"));

    [Fact]
    public Task JkuNotAllowed_Gets401() =>
        AssertRejected(Token(_intruder, SecurityAlgorithms.EcdsaSha384, issuer: SandboxIssuer, jku: _jwks.BaseAddress + "untrusted/jwks.json"));

    [Fact]
    public Task JkuOnAClientWithoutAllowedJku_Gets401() =>
        AssertRejected(Token(_intruder, SecurityAlgorithms.EcdsaSha384, jku: _jwks.BaseAddress + "untrusted/jwks.json"));

    [Fact]
    public async Task ReplayedJti_Gets401()
    {
        var token = Token(_es384, SecurityAlgorithms.EcdsaSha384);
        Assert.Equal(HttpStatusCode.OK, (await DiscoverAsync(token)).StatusCode);
        await AssertRejected(token);
    }

    [Fact]
    public Task MissingKid_Gets401() =>
        AssertRejected(Token(new ECDsaSecurityKey(_es384.ECDsa), SecurityAlgorithms.EcdsaSha384));

    [Fact]
    public Task MissingJti_Gets401() => AssertRejected(Token(_es384, SecurityAlgorithms.EcdsaSha384, withJti: false));

    [Fact]
    public Task GarbageToken_Gets401() => AssertRejected("not.a.jwt");

    [Fact]
    public async Task Preflight_NeedsNoToken()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/cds-services");
        request.Headers.Add("Origin", "https://sandbox.cds-hooks.org");
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "authorization");

        Assert.Equal(HttpStatusCode.NoContent, (await _client.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Rejection_CarriesCorsHeaders_SoBrowserClientsSeeThe401()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        request.Headers.Add("Origin", "https://sandbox.cds-hooks.org");

        var response = await _client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.True(response.Headers.Contains("Access-Control-Allow-Origin"));
    }
}

/// <summary>Bad configuration stops the host at start (the messages naming each key are checked in the unit tests of the validators).</summary>
public sealed class AuthConfigurationTests
{
    [Fact]
    public void RequiredModeWithoutClients_FailsAtStart()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Auth:Mode"] = "Required" });

        Assert.ThrowsAny<Exception>(() => factory.CreateClient());
    }

    [Fact]
    public void BadFhirAllowList_FailsAtStart()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Fhir:AllowedServers:0"] = "not a url" });

        Assert.ThrowsAny<Exception>(() => factory.CreateClient());
    }
}
