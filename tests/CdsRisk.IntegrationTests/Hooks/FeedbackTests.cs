using System.Net;
using System.Text.Json.Nodes;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace CdsRisk.IntegrationTests.Hooks;

public sealed class FeedbackTests : IDisposable
{
    private const string Path = "/cds-services/nct07282184-patient-view/feedback";
    private readonly CdsRiskApiFactory _factory = new();

    public void Dispose() => _factory.Dispose();

    private static JsonObject Overridden(string card, string timestamp) => new()
    {
        ["feedback"] = new JsonArray(new JsonObject
        {
            ["card"] = card,
            ["outcome"] = "overridden",
            ["overrideReason"] = new JsonObject
            {
                ["reason"] = new JsonObject { ["code"] = "declined-trial", ["system"] = "https://cdsrisk.example.org/fhir/CodeSystem/override-reason", ["display"] = "Patient declined" },
                ["userComment"] = "prefers standard care",
            },
            ["outcomeTimestamp"] = timestamp,
        }),
    };

    [Fact]
    public async Task Feedback_IsStoredOnce_WhenSentTwice()
    {
        using var client = _factory.CreateClient();
        var card = Guid.NewGuid().ToString();

        var first = await client.PostAsync(new Uri(Path, UriKind.Relative), HookRequests.Json(Overridden(card, "2026-11-27T10:00:00Z")));
        var again = await client.PostAsync(new Uri(Path, UriKind.Relative), HookRequests.Json(Overridden(card, "2026-11-27T11:00:00+01:00")));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        var stored = Assert.Single(await _factory.Services.GetRequiredService<IFeedbackStore>().ListForCardAsync(card, CancellationToken.None));
        Assert.Equal("overridden", stored.Outcome);
        Assert.Equal("declined-trial", stored.OverrideReason!.Code);
        Assert.Equal("prefers standard care", stored.OverrideComment);
        Assert.Equal("nct07282184-patient-view", stored.ServiceId);
        Assert.True(File.Exists(_factory.DatabasePath));
    }

    [Fact]
    public async Task AcceptedFeedback_KeepsTheAcceptedSuggestions()
    {
        using var client = _factory.CreateClient();
        var card = Guid.NewGuid().ToString();
        var body = new JsonObject
        {
            ["feedback"] = new JsonArray(new JsonObject
            {
                ["card"] = card,
                ["outcome"] = "accepted",
                ["acceptedSuggestions"] = new JsonArray(new JsonObject { ["id"] = "s-1" }),
                ["outcomeTimestamp"] = "2026-11-27T10:00:00Z",
            }),
        };

        var response = await client.PostAsync(new Uri(Path, UriKind.Relative), HookRequests.Json(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["s-1"], Assert.Single(await _factory.Services.GetRequiredService<IFeedbackStore>().ListForCardAsync(card, CancellationToken.None)).AcceptedSuggestions);
    }

    [Fact]
    public async Task Returns400_NamingTheBadFeedbackFields()
    {
        using var client = _factory.CreateClient();
        var body = new JsonObject
        {
            ["feedback"] = new JsonArray(new JsonObject { ["outcome"] = "ignored", ["outcomeTimestamp"] = "yesterday" }),
        };

        var response = await client.PostAsync(new Uri(Path, UriKind.Relative), HookRequests.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonNode.Parse(await response.Content.ReadAsStringAsync())!["errors"]!.AsObject();
        Assert.Equal(["feedback[0].card", "feedback[0].outcome", "feedback[0].outcomeTimestamp"], errors.Select(e => e.Key).Order());
    }
}
