using System.Net;
using System.Net.Http.Headers;
using CdsRisk.IntegrationTests.Hooks;
using CdsRisk.IntegrationTests.TestServers;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>Issue 13 item 6: the expected <c>aud</c> is built from <c>Auth:PublicBaseUrl</c> only, never from the Host header.</summary>
public sealed class AudienceTests : IDisposable
{
    private const string PublicBaseUrl = "https://cds.hospital.example";
    private readonly TestCdsClient _ehr = new("https://ehr.audience-tests.example");
    private readonly CdsRiskApiFactory _factory;
    private readonly HttpClient _client;

    public AudienceTests()
    {
        _factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:PublicBaseUrl"] = PublicBaseUrl,
            ["Auth:Clients:0:Issuer"] = _ehr.Issuer,
            ["Auth:Clients:0:Jwks"] = _ehr.JwksJson,
        });
        _client = _factory.CreateClient();
    }

    public void Dispose()
    {
        _client.Dispose();
        _factory.Dispose();
        _ehr.Dispose();
    }

    private async Task<HttpStatusCode> DiscoverAsync(string aud, string? host = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _ehr.CreateToken(new Uri(aud)));
        if (host is not null)
        {
            request.Headers.Host = host;
        }

        using var response = await _client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task AudFromTheHostHeader_ATokenMintedForAnotherServiceWithThatHost_IsRefused()
    {
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync("https://other-cds.example.com/cds-services", host: "other-cds.example.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync("http://other-cds.example.com/cds-services", host: "other-cds.example.com"));
        Assert.Equal(HttpStatusCode.Unauthorized, await DiscoverAsync("http://localhost/cds-services"));
    }

    [Fact]
    public async Task AudIsThePublicBaseUrlPlusThePath_WhateverTheHostHeaderSays()
    {
        Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(PublicBaseUrl + "/cds-services"));
        Assert.Equal(HttpStatusCode.OK, await DiscoverAsync(PublicBaseUrl + "/cds-services", host: "internal-name:8080"));
    }

    [Fact]
    public void RequiredAuthWithoutPublicBaseUrl_StopsTheServiceAtStart_NamingTheKey()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:PublicBaseUrl"] = "",
            ["Auth:Clients:0:Issuer"] = _ehr.Issuer,
            ["Auth:Clients:0:Jwks"] = _ehr.JwksJson,
        });

        // OptionsValidationException, or several of them when other settings read this one (AggregateException).
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Auth:PublicBaseUrl is required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DisabledAuthInProduction_StopsTheServiceAtStart_NamingTheKey()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Auth:Mode"] = "Disabled" }, environment: "Production");

        // OptionsValidationException, or several of them when other settings read this one (AggregateException).
        var error = Assert.ThrowsAny<Exception>(() => factory.CreateClient());
        Assert.Contains("Auth:Mode=Disabled is refused in Production", error.Message, StringComparison.Ordinal);
    }
}
