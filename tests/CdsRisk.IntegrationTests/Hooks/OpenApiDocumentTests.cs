using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>openapi/cdsrisk.openapi.json is the generated document; UPDATE_OPENAPI=1 rewrites it.</summary>
public sealed class OpenApiDocumentTests : IDisposable
{
    // The document and Swagger UI are served in Development only.
    private readonly CdsRiskApiFactory _factory = new(new Dictionary<string, string?>(), environment: "Development");

    public void Dispose() => _factory.Dispose();

    private async Task<JsonNode> GenerateAsync()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync(new Uri("/swagger/v1/swagger.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    [Fact]
    public async Task CommittedDocument_MatchesTheCode()
    {
        var generated = await GenerateAsync();
        var path = Path.Combine(RepoPaths.Root, "openapi", "cdsrisk.openapi.json");
        if (Environment.GetEnvironmentVariable("UPDATE_OPENAPI") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, generated.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n");
        }

        Assert.True(File.Exists(path), "openapi/cdsrisk.openapi.json is missing; run the tests with UPDATE_OPENAPI=1");
        JsonAssert.Equal(JsonAssert.Load(path), generated);
    }

    [Fact]
    public async Task EveryOperation_HasIdSummaryAndTag()
    {
        var document = await GenerateAsync();
        var operations = document["paths"]!.AsObject().SelectMany(p => p.Value!.AsObject()).ToList();

        Assert.Equal(
            ["CallService", "CreateScoringJob", "Discovery", "Feedback", "GetFollowUpSweep", "GetRiskAssessment", "GetScoringJob", "Health", "ListFollowUp", "ListRiskAssessments"],
            operations.Select(op => op.Value!["operationId"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.All(operations, op =>
        {
            Assert.False(string.IsNullOrEmpty(op.Value!["operationId"]?.GetValue<string>()));
            Assert.False(string.IsNullOrEmpty(op.Value["summary"]?.GetValue<string>()));
            Assert.NotEmpty(op.Value["tags"]!.AsArray());
        });
    }

    [Fact]
    public async Task CardExtensionSchema_DocumentsTheCdsriskContract()
    {
        var schemas = (await GenerateAsync())["components"]!["schemas"]!;

        var extension = schemas["CdsRiskCardExtension"]!["properties"]!;
        Assert.Equal(["eligible", "ineligible", "needs-data", "pending", "low-risk", "not-assessed", "on-study"], extension["outcome"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.NotNull(extension["preScore"]);
        Assert.NotNull(extension["model"]);
        Assert.NotNull(extension["criteria"]!["additionalProperties"]);
        var criterion = schemas["CriterionEntry"]!["properties"]!;
        Assert.Equal(["pass", "fail", "unknown", "to-be-confirmed", "pending"], criterion["status"]!["enum"]!.AsArray().Select(v => v!.GetValue<string>()));
        Assert.NotNull(schemas["CardExtension"]!["properties"]!["cdsrisk"]);
    }

    [Fact]
    public async Task SwaggerUi_IsServed()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync(new Uri("/swagger/index.html", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
