using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.TestServers;

/// <summary>
/// A CDS client for tests: an ES384 key, its JWKS, and tokens signed as CDS Hooks 2.0 asks (§Trusting CDS Clients):
/// header alg ES384, kid, typ JWT; claims iss, aud = the exact URL called, iat, exp = iat + 300, jti.
/// <see cref="ServiceSettings"/> gives the configuration that makes the service trust it and the test servers.
/// </summary>
public sealed class TestCdsClient : IDisposable
{
    private readonly ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP384);
    private readonly ECDsaSecurityKey securityKey;

    public TestCdsClient(string issuer = "https://test-ehr.cdsrisk.example.org")
    {
        Issuer = issuer;
        securityKey = new ECDsaSecurityKey(key);
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(securityKey);
        KeyId = Base64UrlEncoder.Encode(jwk.ComputeJwkThumbprint());
        securityKey.KeyId = KeyId;
        JwksJson = new JsonObject
        {
            ["keys"] = new JsonArray(new JsonObject
            {
                ["kty"] = "EC", ["crv"] = "P-384", ["x"] = jwk.X, ["y"] = jwk.Y, ["kid"] = KeyId, ["alg"] = "ES384", ["use"] = "sig",
            }),
        }.ToJsonString();
    }

    public string Issuer { get; }

    public string KeyId { get; }

    /// <summary>The public key as a JWKS document.</summary>
    public string JwksJson { get; }

    /// <summary>A token for one call to <paramref name="audience"/>; override the times or jti to test rejections.</summary>
    public string CreateToken(Uri audience, DateTimeOffset? issuedAt = null, TimeSpan? lifetime = null, string? jti = null, string? issuer = null)
    {
        var iat = issuedAt ?? DateTimeOffset.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? Issuer,
            Audience = audience.ToString(),
            IssuedAt = iat.UtcDateTime,
            NotBefore = null,
            Expires = (iat + (lifetime ?? TimeSpan.FromSeconds(300))).UtcDateTime,
            Claims = new Dictionary<string, object> { ["jti"] = jti ?? Guid.NewGuid().ToString() },
            SigningCredentials = new SigningCredentials(securityKey, SecurityAlgorithms.EcdsaSha384),
            TokenType = "JWT",
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>Settings (configuration keys, ':' form) that make the service trust this client and reach the test
    /// servers; for <c>WebApplicationFactory.WithWebHostBuilder(b => b.UseSetting(key, value))</c>.</summary>
    public IReadOnlyDictionary<string, string> ServiceSettings(TestEnvironment env) => new Dictionary<string, string>
    {
        ["Auth:Clients:0:Issuer"] = Issuer,
        ["Auth:Clients:0:Jwks"] = JwksJson,
        ["Fhir:AllowedServers:0"] = env.FhirBaseUrl.ToString().TrimEnd('/'),
        ["DicomWeb:AllowedServers:0"] = env.DicomWebBaseUrl.ToString().TrimEnd('/'),
    };

    public void Dispose() => key.Dispose();
}
