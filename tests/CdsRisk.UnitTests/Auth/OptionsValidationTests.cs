using CdsRisk.Api.Auth;
using CdsRisk.Api.Fhir;
using CdsRisk.Api.Storage;

namespace CdsRisk.UnitTests.Auth;

/// <summary>Bad configuration fails at start with a message that names the key.</summary>
public sealed class OptionsValidationTests
{
    private static string Failure(Microsoft.Extensions.Options.ValidateOptionsResult result)
    {
        Assert.True(result.Failed);
        return result.FailureMessage;
    }

    private const string Jwks = """{"keys":[{"kty":"EC","kid":"k","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}""";

    private static AuthOptions Required(params TrustedClientOptions[] clients) => new() { PublicBaseUrl = "https://cds.example.org", Clients = [.. clients] };

    private static TrustedClientOptions Ehr => new() { Issuer = "https://ehr", JwksUrl = "https://ehr/jwks" };

    [Fact]
    public void RequiredAuthWithoutClients_NamesAuthClients() =>
        Assert.Contains("Auth:Clients", Failure(new AuthOptionsValidator().Validate(null, new AuthOptions { PublicBaseUrl = "https://cds.example.org" })), StringComparison.Ordinal);

    [Fact]
    public void AudFromTheHostHeader_RequiredAuthWithoutPublicBaseUrl_NamesTheKey() =>
        Assert.Contains("Auth:PublicBaseUrl is required", Failure(new AuthOptionsValidator().Validate(null, new AuthOptions { Clients = [Ehr] })), StringComparison.Ordinal);

    [Fact]
    public void RequiredAuthWithPublicBaseUrlAndAClient_IsValid() =>
        Assert.True(new AuthOptionsValidator().Validate(null, Required(Ehr)).Succeeded);

    [Fact]
    public void DisabledAuthWithoutClients_IsValid() =>
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { Mode = AuthMode.Disabled }).Succeeded);

    [Fact]
    public void DisabledAuthInProduction_IsRefused_NamingTheKey() =>
        Assert.Contains("Auth:Mode=Disabled is refused in Production",
            Failure(new AuthOptionsValidator(new TestDatabase.Environment("/", "Production")).Validate(null, new AuthOptions { Mode = AuthMode.Disabled })), StringComparison.Ordinal);

    [Fact]
    public void MaxTokenLifetimeOutOfRange_NamesTheKey() =>
        Assert.Contains("Auth:MaxTokenLifetimeSeconds", Failure(new AuthOptionsValidator().Validate(null, new AuthOptions { PublicBaseUrl = "https://cds", Clients = [Ehr], MaxTokenLifetimeSeconds = 0 })), StringComparison.Ordinal);

    [Fact]
    public void JkuWithInlineJwks_IsValid_AndJkuWithoutKeys_NamesTheKey()
    {
        Assert.True(new AuthOptionsValidator().Validate(null, Required(new TrustedClientOptions { Issuer = "https://sandbox", Jku = "https://sandbox/.well-known/jwks.json", Jwks = Jwks })).Succeeded);
        Assert.Contains("Auth:Clients:0:Jku pins keys given out of band", Failure(new AuthOptionsValidator().Validate(null,
            Required(new TrustedClientOptions { Issuer = "https://sandbox", Jku = "https://sandbox/.well-known/jwks.json", AllowedJku = ["https://sandbox/"] }))), StringComparison.Ordinal);
    }

    [Fact]
    public void MissingJwksFile_NamesTheKey() =>
        Assert.Contains("Auth:Clients:0:JwksFile", Failure(new AuthOptionsValidator().Validate(null, Required(new TrustedClientOptions { Issuer = "https://ehr", JwksFile = "/nonexistent/jwks.json" }))), StringComparison.Ordinal);

    [Fact]
    public void TwoClientsWithOneIssuer_NamesTheSecond() =>
        Assert.Contains("Auth:Clients:1:Issuer repeats", Failure(new AuthOptionsValidator().Validate(null, Required(Ehr, Ehr))), StringComparison.Ordinal);

    [Fact]
    public void BadAuditClient_NamesTheAuditKey() =>
        Assert.Contains("Audit:Clients:0:Issuer", Failure(new CdsRisk.Api.Audit.AuditOptionsValidator().Validate(null, new CdsRisk.Api.Audit.AuditOptions { Clients = [new TrustedClientOptions { Jwks = Jwks }] })), StringComparison.Ordinal);

    [Fact]
    public void ClientWithTwoKeySources_NamesTheClient()
    {
        var options = Required(new TrustedClientOptions { Issuer = "https://ehr", JwksUrl = "https://ehr/jwks", AllowedJku = ["https://ehr/"] });
        Assert.Contains("Auth:Clients:0 needs exactly one of", Failure(new AuthOptionsValidator().Validate(null, options)), StringComparison.Ordinal);
    }

    [Fact]
    public void ClientWithoutIssuerAndWithBadJwks_NamesBothKeys()
    {
        var options = Required(new TrustedClientOptions { Jwks = "{not json" });
        var message = Failure(new AuthOptionsValidator().Validate(null, options));
        Assert.Contains("Auth:Clients:0:Issuer", message, StringComparison.Ordinal);
        Assert.Contains("Auth:Clients:0:Jwks", message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadAllowedJku_NamesTheEntry()
    {
        var options = Required(new TrustedClientOptions { Issuer = "https://ehr", AllowedJku = ["https://ok/", "nope"] });
        Assert.Contains("Auth:Clients:0:AllowedJku:1", Failure(new AuthOptionsValidator().Validate(null, options)), StringComparison.Ordinal);
    }

    [Fact]
    public void BadFhirServerEntry_NamesTheEntry() =>
        Assert.Contains("Fhir:AllowedServers:1", Failure(new FhirOptionsValidator().Validate(null, new FhirOptions { AllowedServers = ["https://ehr/fhir", "ehr/fhir"] })), StringComparison.Ordinal);

    [Fact]
    public void FhirTimeoutOutOfRange_NamesTheKey() =>
        Assert.Contains("Fhir:TimeoutSeconds", Failure(new FhirOptionsValidator().Validate(null, new FhirOptions { TimeoutSeconds = 0 })), StringComparison.Ordinal);

    [Fact]
    public void UnknownStorageProvider_NamesTheKey() =>
        Assert.Contains("Storage:Provider", Failure(new StorageOptionsValidator().Validate(null, new StorageOptions { Provider = "Oracle" })), StringComparison.Ordinal);
}
