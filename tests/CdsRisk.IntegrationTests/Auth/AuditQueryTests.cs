using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.IntegrationTests.Hooks;

namespace CdsRisk.IntegrationTests.Auth;

/// <summary>Issue 13 item 20: an audit query parameter that does not parse is a validation problem naming it, not "body missing".</summary>
public sealed class AuditQueryTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    [Theory]
    [InlineData("from=yesterday", "from")]
    [InlineData("to=2026-13-45", "to")]
    [InlineData("limit=ten", "limit")]
    [InlineData("offset=1.5", "offset")]
    [InlineData("limit=0", "limit")]
    public async Task AnUnreadableQueryParameter_IsCDSR1002_NamingIt(string query, string parameter)
    {
        using var client = _factory.CreateClient();
        using var response = await client.GetAsync(new Uri("/api/risk-assessments?" + query, UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        Assert.Equal("CDSR-1002", problem["code"]!.GetValue<string>());
        Assert.NotNull(problem["errors"]![parameter]);
        Assert.Single(problem["errors"]!.AsObject());
    }

    [Fact]
    public async Task WellFormedParameters_AreAccepted()
    {
        using var client = _factory.CreateClient();
        using var response = await client.GetAsync(new Uri("/api/risk-assessments?from=2026-11-01T00:00:00Z&to=2026-11-30&limit=10&offset=0", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(10, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["limit"]!.GetValue<int>());
    }
}
