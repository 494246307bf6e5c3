using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>
/// Issue 15 item 2: trust that works offline. A client such as the CDS Hooks Sandbox always names a <c>jku</c>; its keys are pinned
/// out of band for exactly that URL, and its hook call (no <c>fhirAuthorization</c>) is answered with nothing fetched.
/// </summary>
public sealed class SandboxTrustTests : IDisposable
{
    private const string SandboxIssuer = "https://sandbox.cds-hooks.org";
    private const string SandboxJku = "https://sandbox.cds-hooks.org/.well-known/jwks.json";
    private const string SandboxKid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f";

    // Made here: the Sandbox's own private key is not needed, only the shape of its tokens.
    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = SandboxKid };
    private readonly string _jwksFile = Path.Combine(Path.GetTempPath(), "cdsrisk-sandbox-jwks-" + Guid.NewGuid().ToString("N") + ".json");

    public void Dispose() => File.Delete(_jwksFile);

    private string PublicJwks()
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(_key);
        return JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", use = "sig", kid = SandboxKid, alg = "ES384", crv = jwk.Crv, x = jwk.X, y = jwk.Y } } });
    }

    /// <summary>As the Sandbox signs: header alg ES384, typ JWT, kid, jku; claims iss, aud, exp = iat + 300, iat, jti.</summary>
    private string SandboxToken(string audience, string jku = SandboxJku)
    {
        var iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = SandboxIssuer, ["aud"] = audience, ["exp"] = iat + 300, ["iat"] = iat, ["jti"] = Guid.NewGuid().ToString(),
        });
        var token = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(payload,
            new SigningCredentials(_key, SecurityAlgorithms.EcdsaSha384), new Dictionary<string, object> { ["jku"] = jku });
        var header = new JsonWebToken(token);
        Assert.Equal(("ES384", "JWT", SandboxKid), (header.Alg, header.Typ, header.Kid));
        return token;
    }

    private static async Task<HttpStatusCode> CallPatientViewAsync(HttpClient client, string token)
    {
        // As the Sandbox sends it: the prefetch it could fill, and no fhirAuthorization.
        var body = HookRequests.PatientView(HookRequests.FullPrefetch(), fhirServer: "https://launch.smarthealthit.org/v/r4/fhir");
        Assert.Null(body["fhirAuthorization"]);
        using var request = new HttpRequestMessage(HttpMethod.Post, HookRequests.PatientViewPath) { Content = HookRequests.Json(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    private CdsRiskApiFactory Service(string keySetting, string keyValue) => new(new Dictionary<string, string?>
    {
        ["Auth:Mode"] = "Required",
        ["Auth:Clients:0:Issuer"] = SandboxIssuer,
        ["Auth:Clients:0:Jku"] = SandboxJku,
        [keySetting] = keyValue,
    });

    [Fact]
    public async Task SandboxToken_WithItsJkuPinnedToInlineKeys_IsAnswered_WithoutReachingTheSandbox()
    {
        using var factory = Service("Auth:Clients:0:Jwks", PublicJwks());
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, await CallPatientViewAsync(client, SandboxToken(CdsRiskApiFactory.PublicBaseUrl + HookRequests.PatientViewPath)));
        Assert.NotNull(factory.Evaluator.LastInvocation);
        Assert.Null(factory.Evaluator.LastInvocation!.Authorization);
        Assert.DoesNotContain(factory.Logs, l => l.Contains("JWKS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SandboxToken_WithItsJkuPinnedToAJwksFile_IsAnswered()
    {
        await File.WriteAllTextAsync(_jwksFile, PublicJwks());
        using var factory = Service("Auth:Clients:0:JwksFile", _jwksFile);
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.OK, await CallPatientViewAsync(client, SandboxToken(CdsRiskApiFactory.PublicBaseUrl + HookRequests.PatientViewPath)));
    }

    [Fact]
    public async Task ATokenNamingAnotherJku_IsRefused()
    {
        using var factory = Service("Auth:Clients:0:Jwks", PublicJwks());
        using var client = factory.CreateClient();

        Assert.Equal(HttpStatusCode.Unauthorized, await CallPatientViewAsync(client,
            SandboxToken(CdsRiskApiFactory.PublicBaseUrl + HookRequests.PatientViewPath, jku: "https://evil.example/.well-known/jwks.json")));
        Assert.Null(factory.Evaluator.LastInvocation);
    }
}
