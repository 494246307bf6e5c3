using CdsRisk.IntegrationTests.Hooks;

namespace CdsRisk.IntegrationTests;

public sealed class HealthTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Fact]
    public async Task Healthz_ReturnsOk()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Healthz_NeedsNoClientToken_EvenWhenAuthIsRequired()
    {
        using var factory = new CdsRiskApiFactory(new Dictionary<string, string?>
        {
            ["Auth:Mode"] = "Required",
            ["Auth:Clients:0:Issuer"] = "https://ehr.example.org",
            ["Auth:Clients:0:JwksUrl"] = "https://ehr.example.org/jwks.json",
        });
        using var client = factory.CreateClient();

        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/cds-services", UriKind.Relative))).StatusCode);
    }
}
