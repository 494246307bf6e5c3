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

    [Fact]
    public void RequiredAuthWithoutClients_NamesAuthClients() =>
        Assert.Contains("Auth:Clients", Failure(new AuthOptionsValidator().Validate(null, new AuthOptions())), StringComparison.Ordinal);

    [Fact]
    public void DisabledAuthWithoutClients_IsValid() =>
        Assert.True(new AuthOptionsValidator().Validate(null, new AuthOptions { Mode = AuthMode.Disabled }).Succeeded);

    [Fact]
    public void ClientWithTwoKeySources_NamesTheClient()
    {
        var options = new AuthOptions { Clients = [new TrustedClientOptions { Issuer = "https://ehr", JwksUrl = "https://ehr/jwks", AllowedJku = ["https://ehr/"] }] };
        Assert.Contains("Auth:Clients:0 needs exactly one of", Failure(new AuthOptionsValidator().Validate(null, options)), StringComparison.Ordinal);
    }

    [Fact]
    public void ClientWithoutIssuerAndWithBadJwks_NamesBothKeys()
    {
        var options = new AuthOptions { Clients = [new TrustedClientOptions { Jwks = "{not json" }] };
        var message = Failure(new AuthOptionsValidator().Validate(null, options));
        Assert.Contains("Auth:Clients:0:Issuer", message, StringComparison.Ordinal);
        Assert.Contains("Auth:Clients:0:Jwks", message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadAllowedJku_NamesTheEntry()
    {
        var options = new AuthOptions { Clients = [new TrustedClientOptions { Issuer = "https://ehr", AllowedJku = ["https://ok/", "nope"] }] };
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
