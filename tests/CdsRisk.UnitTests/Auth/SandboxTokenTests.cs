using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.Api.Auth;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.UnitTests.Auth;

/// <summary>
/// Issue 15 item 2: a client that always names a <c>jku</c> (the CDS Hooks Sandbox) trusted with keys pinned out of band
/// (<c>Auth:Clients:N:Jku</c> with <c>Jwks</c> or <c>JwksFile</c>), with no network at all.
/// </summary>
public sealed class SandboxTokenTests : IDisposable
{
    public const string SandboxIssuer = "https://sandbox.cds-hooks.org";
    public const string SandboxJku = "https://sandbox.cds-hooks.org/.well-known/jwks.json";
    public const string SandboxKid = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f";
    private const string Audience = "https://cds.example.org/cds-services/nct07282184-patient-view";

    // A key made here: the Sandbox's own private key is not needed, only its token's shape.
    private readonly ECDsaSecurityKey _key = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = SandboxKid };
    private readonly string _jwksFile = Path.Combine(Path.GetTempPath(), "cdsrisk-unit-" + Guid.NewGuid().ToString("N") + ".json");

    public void Dispose() => File.Delete(_jwksFile);

    public static string PublicJwks(ECDsaSecurityKey key)
    {
        var jwk = JsonWebKeyConverter.ConvertFromECDsaSecurityKey(key);
        return JsonSerializer.Serialize(new { keys = new[] { new { kty = "EC", kid = key.KeyId, use = "sig", alg = "ES384", crv = jwk.Crv, x = jwk.X, y = jwk.Y } } });
    }

    /// <summary>A token shaped as the Sandbox signs one: ES384, kid, jku and typ in the header; iss, aud, exp = iat + 300, iat, jti.</summary>
    public static string SandboxToken(ECDsaSecurityKey key, string audience, string jku = SandboxJku)
    {
        var iat = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = SandboxIssuer, ["aud"] = audience, ["exp"] = iat + 300, ["iat"] = iat, ["jti"] = Guid.NewGuid().ToString(),
        });
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(payload,
            new SigningCredentials(key, SecurityAlgorithms.EcdsaSha384), new Dictionary<string, object> { ["jku"] = jku });
    }

    private CdsClientTokenValidator Validator(TrustedClientOptions client)
    {
        var options = Options.Create(new AuthOptions { Clients = [client] });
        var time = TimeProvider.System;
        return new CdsClientTokenValidator(options, new JwksCache(new NoNetwork(), options, time, NullLogger<JwksCache>.Instance), new JtiReplayCache(time), time);
    }

    private sealed class NoNetwork : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("the pinned jku must not be fetched");
    }

    [Fact]
    public async Task SandboxShapedToken_WithItsJkuPinnedToInlineKeys_IsAccepted_WithoutAnyFetch()
    {
        var validator = Validator(new TrustedClientOptions { Issuer = SandboxIssuer, Jku = SandboxJku, Jwks = PublicJwks(_key) });

        var check = await validator.ValidateAsync("Bearer " + SandboxToken(_key, Audience), Audience, CancellationToken.None);

        Assert.Null(check.Problem);
        Assert.Equal(SandboxIssuer, check.Issuer);
    }

    [Fact]
    public async Task SandboxShapedToken_WithItsJkuPinnedToAJwksFile_IsAccepted()
    {
        await File.WriteAllTextAsync(_jwksFile, PublicJwks(_key));
        var validator = Validator(new TrustedClientOptions { Issuer = SandboxIssuer, Jku = SandboxJku, JwksFile = _jwksFile });

        Assert.Null((await validator.ValidateAsync("Bearer " + SandboxToken(_key, Audience), Audience, CancellationToken.None)).Problem);
    }

    [Theory]
    [InlineData("https://sandbox.cds-hooks.org/.well-known/jwks.json?x=1")]
    [InlineData("https://SANDBOX.cds-hooks.org/.well-known/jwks.json")]
    [InlineData("https://evil.example/.well-known/jwks.json")]
    public async Task AnotherJku_IsRefused_NotCheckedAgainstThePinnedKeys(string jku)
    {
        var validator = Validator(new TrustedClientOptions { Issuer = SandboxIssuer, Jku = SandboxJku, Jwks = PublicJwks(_key) });

        Assert.Equal("jku not allowed", (await validator.ValidateAsync("Bearer " + SandboxToken(_key, Audience, jku), Audience, CancellationToken.None)).Problem);
    }

    [Fact]
    public async Task ThePinnedJku_WithAForeignKey_IsRefused()
    {
        var validator = Validator(new TrustedClientOptions { Issuer = SandboxIssuer, Jku = SandboxJku, Jwks = PublicJwks(_key) });
        var intruder = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = SandboxKid };

        Assert.StartsWith("invalid:", (await validator.ValidateAsync("Bearer " + SandboxToken(intruder, Audience), Audience, CancellationToken.None)).Problem,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task AJkuOnAClientWithInlineKeysButNoPin_IsStillRefused()
    {
        var validator = Validator(new TrustedClientOptions { Issuer = SandboxIssuer, Jwks = PublicJwks(_key) });

        Assert.Equal("jku not allowed", (await validator.ValidateAsync("Bearer " + SandboxToken(_key, Audience), Audience, CancellationToken.None)).Problem);
    }
}
