using System.Net;

namespace CdsRisk.IntegrationTests.Hooks;

public sealed class CorsTests : IDisposable
{
    private const string Origin = "https://sandbox.cds-hooks.org";
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Theory]
    [InlineData("/cds-services", "GET")]
    [InlineData("/cds-services/nct07282184-patient-view", "POST")]
    [InlineData("/cds-services/nct07282184-patient-view/feedback", "POST")]
    public async Task Preflight_AllowsAuthorizationAndContentType_OnEveryEndpoint(string path, string method)
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", Origin);
        request.Headers.Add("Access-Control-Request-Method", method);
        request.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var headers = string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        Assert.Contains("authorization", headers, StringComparison.Ordinal);
        Assert.Contains("content-type", headers, StringComparison.Ordinal);
        Assert.Contains(method, string.Join(",", response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HookPost_CarriesCorsHeaders()
    {
        using var client = _factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, HookRequests.PatientViewPath) { Content = HookRequests.Json(HookRequests.PatientView(HookRequests.FullPrefetch())) };
        request.Headers.Add("Origin", Origin);

        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task ConfiguredOrigins_AreTheOnlyOnesAllowed()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?> { ["Cors:AllowedOrigins:0"] = "https://ehr.example.org" });
        using var client = factory.CreateClient();

        async Task<bool> Allowed(string origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/cds-services");
            request.Headers.Add("Origin", origin);
            var response = await client.SendAsync(request);
            return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin;
        }

        Assert.True(await Allowed("https://ehr.example.org"));
        Assert.False(await Allowed("https://evil.example.com"));
    }
}
