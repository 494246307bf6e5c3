using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.TestServers;

public sealed class TestCdsClientTests
{
    private static readonly Uri Hook = new("http://localhost/cds-services/nct07282184-patient-view");

    private static Task<TokenValidationResult> ValidateAsync(TestCdsClient client, string token, Uri audience) =>
        new JsonWebTokenHandler().ValidateTokenAsync(token, new TokenValidationParameters
        {
            ValidIssuer = client.Issuer,
            ValidAudience = audience.ToString(),
            IssuerSigningKeys = new JsonWebKeySet(client.JwksJson).GetSigningKeys(),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha384],
        });

    [Fact]
    public async Task Token_VerifiesWithTheJwks_AndCarriesTheClaimsCdsHooksRequires()
    {
        using var client = new TestCdsClient();
        var token = client.CreateToken(Hook);
        var result = await ValidateAsync(client, token, Hook);
        Assert.True(result.IsValid, result.Exception?.Message);

        var jwt = new JsonWebToken(token);
        Assert.Equal("ES384", jwt.Alg);
        Assert.Equal("JWT", jwt.Typ);
        Assert.Equal(client.KeyId, jwt.Kid);
        Assert.Equal(Hook.ToString(), Assert.Single(jwt.Audiences));
        Assert.Equal(300, (jwt.ValidTo - jwt.IssuedAt).TotalSeconds);
        Assert.True(Guid.TryParse(jwt.Id, out _));
        Assert.False(jwt.TryGetPayloadValue<long>("nbf", out _));
    }

    [Fact]
    public async Task Token_ForAnotherUrl_FailsAudienceValidation()
    {
        using var client = new TestCdsClient();
        var token = client.CreateToken(new Uri("http://localhost/cds-services"));
        var result = await ValidateAsync(client, token, Hook);
        Assert.IsType<SecurityTokenInvalidAudienceException>(result.Exception);
    }

    [Fact]
    public async Task Token_FromAnotherKey_FailsSignatureValidation()
    {
        using var client = new TestCdsClient();
        using var impostor = new TestCdsClient(client.Issuer);
        var result = await ValidateAsync(client, impostor.CreateToken(Hook), Hook);
        Assert.False(result.IsValid);
    }

    [Fact]
    public void Jwks_HoldsOnlyThePublicKey()
    {
        using var client = new TestCdsClient();
        var key = JsonNode.Parse(client.JwksJson)!["keys"]![0]!.AsObject();
        Assert.Equal(["kty", "crv", "x", "y", "kid", "alg", "use"], key.Select(p => p.Key));
        Assert.Equal("P-384", (string?)key["crv"]);
    }
}
