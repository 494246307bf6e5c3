using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.EndToEnd;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>
/// Issue 13 item 12 (confused deputy): pre-computation is a role of its own (<c>Scoring:Clients</c>), each client bound to one FHIR
/// server and backend credential. Hook clients cannot use it; a scoring client cannot name another server or credential.
/// </summary>
public sealed class ScoringClientTests : IDisposable
{
    private readonly AuthTestClients _clients = new();
    private readonly CdsRiskApiFactory _factory;
    private readonly HttpClient _http;

    public ScoringClientTests()
    {
        _factory = new CdsRiskApiFactory(_clients.Settings(CdsRiskApiFactory.PublicBaseUrl));
        _http = _factory.CreateClient();
    }

    public void Dispose()
    {
        _http.Dispose();
        _factory.Dispose();
        _clients.Dispose();
    }

    private static readonly Uri Jobs = new(CdsRiskApiFactory.PublicBaseUrl + "/api/scoring-jobs");

    private async Task<(HttpStatusCode Status, string Body)> PostAsync(object body, AuthenticationHeaderValue? authorization)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Jobs) { Content = JsonContent.Create(body) };
        request.Headers.Authorization = authorization;
        using var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ConfusedDeputy_AHookClientsToken_CannotCreateAScoringJob()
    {
        var (status, body) = await PostAsync(new { patientId = "victim", fhirServer = AuthTestClients.OtherAllowedFhirServer, credential = "other-backend" },
            new AuthenticationHeaderValue("Bearer", _clients.Ehr.CreateToken(Jobs)));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Empty(body);
    }

    [Fact]
    public async Task ConfusedDeputy_AScoringClient_CannotNameAnotherFhirServer()
    {
        var (status, body) = await PostAsync(new { patientId = "victim", fhirServer = AuthTestClients.OtherAllowedFhirServer },
            new AuthenticationHeaderValue("ApiKey", _clients.ApiKey));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("CDSR-2005", body, StringComparison.Ordinal);
        Assert.Contains("fhirServer", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfusedDeputy_AScoringClient_CannotNameAnotherCredential()
    {
        var (status, body) = await PostAsync(new { patientId = "victim", credential = "other-backend" }, new AuthenticationHeaderValue("ApiKey", _clients.ApiKey));

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Contains("credential", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConfusedDeputy_AJwtScoringClient_IsBoundTheSameWay()
    {
        var (status, _) = await PostAsync(new { patientId = "victim", fhirServer = AuthTestClients.OtherAllowedFhirServer },
            new AuthenticationHeaderValue("Bearer", _clients.ScoringSigner.CreateToken(Jobs)));

        Assert.Equal(HttpStatusCode.Forbidden, status);
    }

    [Theory]
    [InlineData("ApiKey", "wrong-key")]
    [InlineData("ApiKey", "")]
    [InlineData("Bearer", "not-a-jwt")]
    public async Task AnUnknownApiKeyOrToken_Is401(string scheme, string value)
    {
        var (status, body) = await PostAsync(new { patientId = "p1" }, new AuthenticationHeaderValue(scheme, value));

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Empty(body);
    }

    [Fact]
    public async Task TheApiKey_OpensOnlyTheScoringJobs()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        request.Headers.Authorization = new AuthenticationHeaderValue("ApiKey", _clients.ApiKey);

        Assert.Equal(HttpStatusCode.Unauthorized, (await _http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task TheApiKey_IsNotInTheLogs()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(new { patientId = "p1" }, new AuthenticationHeaderValue("ApiKey", _clients.ApiKey + "x"))).Status);

        Assert.Contains(_factory.Logs, l => l.Contains("API key not recognised", StringComparison.Ordinal));
        Assert.DoesNotContain(_factory.Logs, l => l.Contains(_clients.ApiKey, StringComparison.Ordinal));
    }
}

/// <summary>A scoring client with an API key (as a PACS would send it) has a patient of its own FHIR server scored and written back there.</summary>
[Collection("servers")]
public sealed class ScoringClientEndToEndTests(TestEnvironment env)
{
    [Fact]
    public async Task AnApiKeyScoringClient_ScoresAPatientOfItsOwnServer_WithItsOwnCredential()
    {
        var patient = (await SeededDemo.GetAsync(env))["eligible-dynamic-layout"];
        var apiKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var factory = new ServiceFactory(env, new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:PublicBaseUrl"] = "http://localhost",
            ["Auth:Clients:0:Issuer"] = "https://unused-ehr.example",
            ["Auth:Clients:0:Jwks"] = """{"keys":[{"kty":"EC","kid":"k","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}]}""",
            ["WriteBack:BackendClients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
            ["WriteBack:BackendClients:0:ClientId"] = "integration-backend",
            ["WriteBack:BackendClients:0:TokenUrl"] = env.FhirBaseUrl.AbsoluteUri + "token-unused",
            ["WriteBack:BackendClients:0:AccessToken"] = env.FhirToken,
            ["Scoring:Clients:0:Name"] = "orthanc",
            ["Scoring:Clients:0:ApiKeySha256"] = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey))),
            ["Scoring:Clients:0:FhirServer"] = env.FhirBaseUrl.AbsoluteUri,
            ["Scoring:Clients:0:Credential"] = "integration-backend",
        });
        using var client = factory.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("ApiKey", apiKey);

        // Neither the server nor the credential named: the client's own are used.
        using var created = await client.PostAsJsonAsync(new Uri("/api/scoring-jobs", UriKind.Relative), new { patientId = patient.PatientId });
        Assert.True(created.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        var location = new Uri($"/api/scoring-jobs/{JsonNode.Parse(await created.Content.ReadAsStringAsync())!["id"]}", UriKind.Relative);

        JsonNode state;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        do
        {
            await Task.Delay(300);
            state = JsonNode.Parse(await client.GetStringAsync(location))!;
        }
        while (state["state"]!.GetValue<string>() is "queued" or "running" && DateTime.UtcNow < deadline);

        Assert.Equal("succeeded", state["state"]!.GetValue<string>());
        Assert.InRange(Math.Abs(state["preScore"]!.GetValue<double>() - patient.ReferencePre!.Value), 0, 1e-3);
    }
}
