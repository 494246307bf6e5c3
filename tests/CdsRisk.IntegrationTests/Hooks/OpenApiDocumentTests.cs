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
            ["CallService", "CreateScoringJob", "Discovery", "Feedback", "GetFollowUpSweep", "GetRiskAssessment", "GetScoringJob", "Health", "ListFollowUp", "ListRiskAssessments", "Readiness"],
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
        string[] Enum(JsonNode property) => [.. schemas[property["$ref"]!.GetValue<string>().Split('/')[^1]]!["enum"]!.AsArray().Select(v => v!.GetValue<string>())];

        var extension = schemas["CdsRiskCardExtension"]!["properties"]!;
        Assert.Equal(["eligible", "ineligible", "needs-data", "pending", "low-risk", "not-assessed", "on-study"], Enum(extension["outcome"]!));
        Assert.Equal(["eligible", "low-risk", "ineligible", "needs-data", "pending", "resection-ordered", "regimen-hypersensitivity", "not-assessed", "follow-up", "safety-signal", "post-operative-exclusion"], Enum(extension["card"]!));
        Assert.NotNull(extension["preScore"]);
        Assert.NotNull(extension["model"]);
        Assert.NotNull(extension["criteria"]!["additionalProperties"]);
        var criterion = schemas["CriterionEntry"]!["properties"]!;
        Assert.Equal(["pass", "fail", "unknown", "to-be-confirmed", "pending"], Enum(criterion["status"]!));
        Assert.NotNull(schemas["CardExtension"]!["properties"]!["cdsrisk"]);

        // One way for every enum of the wire: the kebab-case names the serializer writes.
        var card = schemas["Card"]!["properties"]!;
        Assert.Equal(["info", "warning", "critical"], Enum(card["indicator"]!));
        Assert.Equal(["at-most-one", "any"], Enum(card["selectionBehavior"]!));
        Assert.Equal(["absolute", "smart"], Enum(schemas["Link"]!["properties"]!["type"]!));
        Assert.Equal(["create", "update", "delete"], Enum(schemas["Action"]!["properties"]!["type"]!));

        // Job and write-back states: enums in code, the same words as stored.
        Assert.Equal(["queued", "running", "succeeded", "failed"], Enum(schemas["ScoringJobView"]!["properties"]!["state"]!));
        Assert.Equal(["pending", "written", "rejected", "dropped", "not-queued"], Enum(schemas["WriteBackState"]!["properties"]!["state"]!));
    }

    [Fact]
    public async Task SwaggerUi_IsServed()
    {
        using var client = _factory.CreateClient();
        var response = await client.GetAsync(new Uri("/swagger/index.html", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
