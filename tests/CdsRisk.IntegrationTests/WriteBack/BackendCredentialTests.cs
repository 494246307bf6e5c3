using CdsRisk.Api.Hooks;
using System.Security.Cryptography;
using CdsRisk.Api.WriteBack;
using CdsRisk.IntegrationTests.Hooks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace CdsRisk.IntegrationTests.WriteBack;

/// <summary>SMART Backend Services: client credentials with a private-key JWT against a token endpoint on loopback.</summary>
public sealed class BackendCredentialTests
{
    [Fact]
    public async Task WithoutAWritableHookToken_TheBackendClientGetsAToken_WithAValidClientAssertion_AndCachesIt()
    {
        using var rsa = RSA.Create(2048);
        var publicKey = new RsaSecurityKey(rsa.ExportParameters(false)) { KeyId = "backend-1" };
        var assertions = new List<TokenValidationResult>();
        var forms = new List<IFormCollection>();
        await using var tokenServer = await LoopbackHttpServer.StartAsync(async context =>
        {
            var form = await context.Request.ReadFormAsync();
            forms.Add(form);
            assertions.Add(await new JsonWebTokenHandler().ValidateTokenAsync(form["client_assertion"].ToString(), new TokenValidationParameters
            {
                ValidIssuer = "cdsrisk-backend",
                ValidAudience = context.Request.Scheme + "://" + context.Request.Host + context.Request.Path,
                IssuerSigningKey = publicKey,
            }));
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"access_token":"backend-token-1","token_type":"Bearer","expires_in":300,"scope":"system/RiskAssessment.cr"}""");
        });
        var tokenUrl = new Uri(tokenServer.BaseAddress, "token").AbsoluteUri;
        var options = Options.Create(new WriteBackOptions
        {
            BackendClients = [new BackendClientOptions
            {
                FhirServer = "https://ehr.test/fhir",
                TokenUrl = tokenUrl,
                ClientId = "cdsrisk-backend",
                PrivateKeyPem = rsa.ExportPkcs8PrivateKeyPem(),
                KeyId = "backend-1",
                Algorithm = "RS384",
            }],
        });
        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var credentials = new FhirCredentials(options, services.GetRequiredService<IHttpClientFactory>(), TimeProvider.System);

        // A hook token that can only read is not kept for writing.
        Assert.False(credentials.HoldHookToken("item-1", "https://ehr.test/fhir", "p1", Auth("hook-read-only", 300, "user/*.read")));
        var first = await credentials.GetWriteTokenAsync("item-1", "https://ehr.test/fhir", CancellationToken.None);
        var second = await credentials.GetWriteTokenAsync("item-2", "https://ehr.test/fhir/", CancellationToken.None);
        var elsewhere = await credentials.GetWriteTokenAsync("item-3", "https://other.test/fhir", CancellationToken.None);

        Assert.Equal("backend-token-1", first);
        Assert.Equal("backend-token-1", second);
        Assert.Null(elsewhere);
        var form = Assert.Single(forms);
        Assert.Equal("client_credentials", form["grant_type"].ToString());
        Assert.Equal("urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_assertion_type"].ToString());
        Assert.Equal("system/Device.cr system/RiskAssessment.cr system/Provenance.cu", form["scope"].ToString());
        var assertion = Assert.Single(assertions);
        Assert.True(assertion.IsValid, assertion.Exception?.Message);
        Assert.Equal("RS384", ((JsonWebToken)assertion.SecurityToken).Alg);
        Assert.Equal("cdsrisk-backend", assertion.Claims["sub"]);
    }

    [Fact]
    public async Task AWritableHookToken_WritesOnlyItsOwnItem_UntilItExpires()
    {
        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var credentials = new FhirCredentials(Options.Create(new WriteBackOptions()), services.GetRequiredService<IHttpClientFactory>(), TimeProvider.System);

        Assert.True(credentials.HoldHookToken("item-a", "https://ehr.test/fhir", "p1", Auth("hook-token", 300, "user/*.read user/RiskAssessment.write")));
        Assert.Equal("hook-token", await credentials.GetWriteTokenAsync("item-a", "https://ehr.test/fhir", CancellationToken.None));

        // Never for another item (another patient's write), nor for another server.
        Assert.Null(await credentials.GetWriteTokenAsync("item-b", "https://ehr.test/fhir", CancellationToken.None));
        Assert.Null(await credentials.GetWriteTokenAsync("item-a", "https://other.test/fhir", CancellationToken.None));

        Assert.True(credentials.HoldHookToken("item-c", "https://ehr.test/fhir", "p1", Auth("short-token", 1, "user/RiskAssessment.write")));
        Assert.Null(await credentials.GetWriteTokenAsync("item-c", "https://ehr.test/fhir", CancellationToken.None)); // expires within the margin
    }

    [Fact]
    public void HookTokens_ForAnotherPatient_OrOversized_AreNotHeld_AndTheStoreIsBounded()
    {
        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var credentials = new FhirCredentials(Options.Create(new WriteBackOptions()), services.GetRequiredService<IHttpClientFactory>(), TimeProvider.System);
        var scope = "patient/RiskAssessment.c";

        Assert.False(credentials.HoldHookToken("item-a", "https://ehr.test/fhir", "p1", Auth("t", 300, scope) with { Patient = "p2" }));
        Assert.False(credentials.HoldHookToken("item-a", "https://ehr.test/fhir", "p1", Auth(new string('x', FhirCredentials.MaxHookTokenLength + 1), 300, scope)));
        Assert.Equal(0, credentials.HeldTokenCount);

        for (var i = 0; i < FhirCredentials.MaxHeldTokens + 50; i++)
        {
            credentials.HoldHookToken("item-" + i, "https://ehr.test/fhir", "p1", Auth("t" + i, 300, scope));
        }

        Assert.Equal(FhirCredentials.MaxHeldTokens, credentials.HeldTokenCount);
    }

    private static FhirAuthorization Auth(string token, long expiresIn, string scope) =>
        new() { AccessToken = token, TokenType = "Bearer", ExpiresIn = expiresIn, Scope = scope, Subject = "Practitioner/1" };
}
