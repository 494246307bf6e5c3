using CdsRisk.Api.Auth;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.WriteBack;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Auth;

/// <summary>Issue 13 item 12: each scoring client is bound to one allowed FHIR server and to a backend credential for it.</summary>
public sealed class ScoringClientOptionsTests
{
    private const string Server = "https://ehr.example.org/fhir";
    private const string KeyHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    private static readonly ScoringClientsOptionsValidator Validator = new(
        Options.Create(new FhirOptions { AllowedServers = [Server, "https://other.example.org/fhir"] }),
        Options.Create(new WriteBackOptions { BackendClients = [new BackendClientOptions { ClientId = "backend", FhirServer = Server, TokenUrl = "https://ehr.example.org/token" }] }));

    private static string Failure(ScoringClientOptions client)
    {
        var result = Validator.Validate(null, new ScoringClientsOptions { Clients = [client] });
        Assert.True(result.Failed);
        return result.FailureMessage;
    }

    [Fact]
    public void ApiKeyClient_BoundToAnAllowedServerAndItsCredential_IsValid() =>
        Assert.True(Validator.Validate(null, new ScoringClientsOptions
        {
            Clients = [new ScoringClientOptions { Name = "pacs", ApiKeySha256 = KeyHash, FhirServer = Server, Credential = "backend" }],
        }).Succeeded);

    [Fact]
    public void JwtClient_IsValid() =>
        Assert.True(Validator.Validate(null, new ScoringClientsOptions
        {
            Clients = [new ScoringClientOptions { Name = "ris", Issuer = "https://ris", JwksUrl = "https://ris/jwks", FhirServer = Server + "/", Credential = "backend" }],
        }).Succeeded);

    [Fact]
    public void NeitherOrBothWaysToAuthenticate_NamesTheClient()
    {
        Assert.Contains("Scoring:Clients:0 needs exactly one of Issuer", Failure(new ScoringClientOptions { Name = "x", FhirServer = Server, Credential = "backend" }), StringComparison.Ordinal);
        Assert.Contains("Scoring:Clients:0 needs exactly one of Issuer", Failure(new ScoringClientOptions
        {
            Name = "x", Issuer = "https://ris", JwksUrl = "https://ris/jwks", ApiKeySha256 = KeyHash, FhirServer = Server, Credential = "backend",
        }), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g")]
    public void ApiKeyNotAHash_NamesTheKey(string value) =>
        Assert.Contains("Scoring:Clients:0:ApiKeySha256", Failure(new ScoringClientOptions { Name = "x", ApiKeySha256 = value, FhirServer = Server, Credential = "backend" }), StringComparison.Ordinal);

    [Fact]
    public void ServerNotAllowed_NamesTheKey() =>
        Assert.Contains("Scoring:Clients:0:FhirServer is not on Fhir:AllowedServers", Failure(new ScoringClientOptions
        {
            Name = "x", ApiKeySha256 = KeyHash, FhirServer = "https://elsewhere.example/fhir", Credential = "backend",
        }), StringComparison.Ordinal);

    [Fact]
    public void CredentialForAnotherServer_NamesTheKey() =>
        Assert.Contains("Scoring:Clients:0:Credential names no WriteBack:BackendClients entry", Failure(new ScoringClientOptions
        {
            Name = "x", ApiKeySha256 = KeyHash, FhirServer = "https://other.example.org/fhir", Credential = "backend",
        }), StringComparison.Ordinal);

    [Fact]
    public void ApiKey_IsFoundByItsHash_OnlyForTheExactKey()
    {
        var validators = new ClientTokenValidators(Options.Create(new AuthOptions()), Options.Create(new CdsRisk.Api.Audit.AuditOptions()),
            Options.Create(new ScoringClientsOptions { Clients = [new ScoringClientOptions { Name = "pacs", ApiKeySha256 = KeyHash, FhirServer = Server, Credential = "backend" }] }),
            null!, new JtiReplayCache(TimeProvider.System), TimeProvider.System);

        Assert.Equal("pacs", validators.ScoringClientByApiKey("test")?.Name); // SHA-256("test") = KeyHash
        Assert.Null(validators.ScoringClientByApiKey("test "));
        Assert.Null(validators.ScoringClientByApiKey("Test"));
    }
}
