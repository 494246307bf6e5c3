using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CdsRisk.Api.Auth;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.UnitTests.Auth;

/// <summary>The validator's reasons, one per rule of CDS Hooks 2.0 §Trusting CDS Clients (keys inline: no network).</summary>
public sealed class CdsClientTokenValidatorTests
{
    private const string Issuer = "https://ehr.example.org";
    private const string Audience = "https://cds.example.org/cds-services";

    private readonly ECDsaSecurityKey _es384 = new(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ec" };
    private readonly RsaSecurityKey _rsa = new(RSA.Create(2048)) { KeyId = "rsa" };
    private readonly CdsClientTokenValidator _validator;

    public CdsClientTokenValidatorTests()
    {
        var jwks = JsonSerializer.Serialize(new { keys = new object[] { Public(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(_es384)), Public(JsonWebKeyConverter.ConvertFromRSASecurityKey(_rsa)) } });
        var options = Options.Create(new AuthOptions
        {
            ClockSkewSeconds = 30,
            Clients = [new TrustedClientOptions { Issuer = Issuer, Jwks = jwks }],
        });
        var time = TimeProvider.System;
        _validator = new CdsClientTokenValidator(options, new JwksCache(new NoHttp(), options, time, NullLogger<JwksCache>.Instance), new JtiReplayCache(time), time);
    }

    private static Dictionary<string, string> Public(JsonWebKey k) => k.Kty == "EC"
        ? new() { ["kty"] = "EC", ["kid"] = k.Kid, ["crv"] = k.Crv, ["x"] = k.X, ["y"] = k.Y }
        : new() { ["kty"] = "RSA", ["kid"] = k.Kid, ["n"] = k.N, ["e"] = k.E };

    private sealed class NoHttp : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => throw new InvalidOperationException("no network in unit tests");
    }

    private static string Sign(SecurityKey key, string alg, Action<Dictionary<string, object>>? edit = null, Dictionary<string, object>? header = null)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = new Dictionary<string, object> { ["iss"] = Issuer, ["aud"] = Audience, ["exp"] = now + 300, ["iat"] = now, ["jti"] = Guid.NewGuid().ToString() };
        edit?.Invoke(payload);
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return header is null
            ? handler.CreateToken(JsonSerializer.Serialize(payload), new SigningCredentials(key, alg))
            : handler.CreateToken(JsonSerializer.Serialize(payload), new SigningCredentials(key, alg), header);
    }

    private async Task<string?> Check(string token) => (await _validator.ValidateAsync("Bearer " + token, Audience, CancellationToken.None)).Problem;

    [Theory]
    [InlineData(SecurityAlgorithms.EcdsaSha384)]
    public async Task ES384_IsAccepted(string alg) => Assert.Null(await Check(Sign(_es384, alg)));

    [Theory]
    [InlineData(SecurityAlgorithms.RsaSha384)]
    [InlineData(SecurityAlgorithms.RsaSha256)]
    [InlineData(SecurityAlgorithms.RsaSsaPssSha256)]
    public async Task RsaFamilies_AreAccepted(string alg) => Assert.Null(await Check(Sign(_rsa, alg)));

    [Fact]
    public async Task ExtraClaimsLikeSubAndNbf_AreAccepted() =>
        Assert.Null(await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => { p["sub"] = "client"; p["nbf"] = DateTimeOffset.UtcNow.AddSeconds(-5).ToUnixTimeSeconds(); p["tenant"] = "t1"; })));

    [Fact]
    public async Task AlgNone_IsRefusedForItsAlgorithm()
    {
        static string B64(string s) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(s));
        var reason = await Check(B64("""{"alg":"none","kid":"ec"}""") + "." + B64($$"""{"iss":"{{Issuer}}","aud":"{{Audience}}","exp":9999999999,"iat":1,"jti":"x"}""") + ".");
        Assert.Equal("alg 'none' not accepted", reason);
    }

    [Fact]
    public async Task Hmac_IsRefusedForItsAlgorithm() =>
        Assert.Equal("alg 'HS256' not accepted", await Check(Sign(new SymmetricSecurityKey(RandomNumberGenerator.GetBytes(32)) { KeyId = "ec" }, SecurityAlgorithms.HmacSha256)));

    [Fact]
    public async Task MissingKid_IsRefused() => Assert.Equal("no kid", await Check(Sign(new ECDsaSecurityKey(_es384.ECDsa), SecurityAlgorithms.EcdsaSha384)));

    [Fact]
    public async Task UnknownKid_IsRefused() =>
        Assert.Equal("kid not in configured key set", await Check(Sign(new ECDsaSecurityKey(_es384.ECDsa) { KeyId = "other" }, SecurityAlgorithms.EcdsaSha384)));

    [Fact]
    public async Task UnknownIssuer_IsRefused() => Assert.Equal("unknown iss", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p["iss"] = "https://evil.example")));

    [Fact]
    public async Task Jku_IsRefusedForAClientWithoutAllowedJku() =>
        Assert.Equal("jku not allowed", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, header: new() { ["jku"] = "https://evil.example/jwks" })));

    [Fact]
    public async Task WrongSignature_IsRefusedAsInvalid()
    {
        var forged = Sign(new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = "ec" }, SecurityAlgorithms.EcdsaSha384);
        Assert.StartsWith("invalid:", await Check(forged), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://cds.example.org/cds-services/")]
    [InlineData("https://cds.example.org")]
    public async Task AudienceOtherThanTheExactUrl_IsRefused(string aud) =>
        Assert.StartsWith("invalid:", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p["aud"] = aud)), StringComparison.Ordinal);

    [Fact]
    public async Task Expired_IsRefused() =>
        Assert.StartsWith("invalid:", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p =>
        {
            p["exp"] = DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds();
            p["iat"] = DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds();
        })), StringComparison.Ordinal);

    [Fact]
    public async Task IssuedAtBeyondTheSkewInTheFuture_IsRefused() =>
        Assert.Equal("iat missing or in the future", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p["iat"] = DateTimeOffset.UtcNow.AddMinutes(2).ToUnixTimeSeconds())));

    [Fact]
    public async Task IssuedAtWithinTheSkew_IsAccepted() =>
        Assert.Null(await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p["iat"] = DateTimeOffset.UtcNow.AddSeconds(10).ToUnixTimeSeconds())));

    [Fact]
    public async Task MissingJti_IsRefused() => Assert.Equal("no jti", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p.Remove("jti"))));

    [Fact]
    public async Task MissingExp_IsRefused() => Assert.StartsWith("invalid:", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p.Remove("exp"))), StringComparison.Ordinal);

    [Fact]
    public async Task Replay_IsRefused()
    {
        var token = Sign(_es384, SecurityAlgorithms.EcdsaSha384);
        Assert.Null(await Check(token));
        Assert.Equal("jti replayed", await Check(token));
    }

    [Fact]
    public async Task TenYearExp_IsRefused() =>
        Assert.Equal("lifetime (exp - iat) above Auth:MaxTokenLifetimeSeconds", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384,
            p => p["exp"] = DateTimeOffset.UtcNow.AddYears(10).ToUnixTimeSeconds())));

    [Fact]
    public async Task LifetimeJustAboveTheMaximum_IsRefused_AndAtTheMaximumAccepted()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.Equal("lifetime (exp - iat) above Auth:MaxTokenLifetimeSeconds", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => { p["iat"] = now; p["exp"] = now + 601; })));
        Assert.Null(await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => { p["iat"] = now; p["exp"] = now + 600; })));
    }

    [Fact]
    public async Task ExpFarInTheFuture_WithAnIatBackdatedToHideIt_IsRefused()
    {
        // iat within the skew but a lifetime under the cap cannot put exp far out; an iat set in the past to shorten the apparent
        // lifetime is caught by exp itself.
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.NotNull(await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => { p["iat"] = now - 100_000; p["exp"] = now + 100_000; })));
    }

    [Fact]
    public async Task OverlongJti_IsRefused() =>
        Assert.Equal("jti too long", await Check(Sign(_es384, SecurityAlgorithms.EcdsaSha384, p => p["jti"] = new string('j', 257))));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    [InlineData("Bearer a.b")]
    public async Task MissingOrMalformedHeader_IsRefused(string? header) =>
        Assert.NotNull((await _validator.ValidateAsync(header, Audience, CancellationToken.None)).Problem);
}
