using System.Net;
using System.Net.Http.Headers;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;
using Microsoft.Extensions.Options;

namespace CdsRisk.IntegrationTests.EndToEnd;

/// <summary>The /api endpoints take the same JWTs as the hooks: audit reads only from Audit:Clients, scoring jobs only from Scoring:Clients.</summary>
public sealed class ApiProtectionTests
{
    [Fact]
    public async Task AuditApi_AcceptsOnlyAuditClients_WithAudTheUrlCalled()
    {
        using var ehr = new TestCdsClient("https://ehr.test");
        using var auditor = new TestCdsClient("https://auditor.test");
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:Clients:0:Issuer"] = ehr.Issuer,
            ["Auth:Clients:0:Jwks"] = ehr.JwksJson,
            ["Audit:Clients:0:Issuer"] = auditor.Issuer,
            ["Audit:Clients:0:Jwks"] = auditor.JwksJson,
        });
        using var client = factory.CreateClient();
        var url = new Uri(client.BaseAddress!, "/api/risk-assessments");

        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(client, url, null));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(client, url, ehr.CreateToken(url)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(client, url, auditor.CreateToken(new Uri(client.BaseAddress!, "/api/other"))));
        Assert.Equal(HttpStatusCode.OK, await GetAsync(client, url, auditor.CreateToken(url)));

        // Scoring jobs belong to scoring clients only: neither an EHR's nor an auditor's token opens them.
        var jobs = new Uri(client.BaseAddress!, "/api/scoring-jobs/unknown");
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(client, jobs, auditor.CreateToken(jobs)));
        Assert.Equal(HttpStatusCode.Unauthorized, await GetAsync(client, jobs, ehr.CreateToken(jobs)));
    }

    [Fact]
    public void MissingModelFile_StopsTheServiceAtStart_NamingTheSetting()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["PreModel:Directory"] = "/nonexistent/site-model" });

        var error = Assert.Throws<OptionsValidationException>(() => factory.CreateClient());
        Assert.Contains("PreModel:Directory", error.Message, StringComparison.Ordinal);
        Assert.Contains("/nonexistent/site-model", error.Message, StringComparison.Ordinal);
    }

    private static async Task<HttpStatusCode> GetAsync(HttpClient client, Uri url, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }
}
