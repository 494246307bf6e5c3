using System.Net;
using System.Text.Json.Nodes;

namespace CdsRisk.IntegrationTests.Hooks;

/// <summary>Issue 17 through the hook: an on-study patient gets the follow-up card and extension instead of screening.</summary>
public sealed class FollowUpHookTests : IDisposable
{
    private readonly CdsRiskApiFactory _factory = new(new Dictionary<string, string?>(), useRecordingEvaluator: false);

    public void Dispose() => _factory.Dispose();

    private static JsonObject Subject(string status) => new()
    {
        ["resourceType"] = "ResearchSubject",
        ["id"] = "rs-1",
        ["status"] = status,
        ["study"] = new JsonObject { ["identifier"] = new JsonObject { ["system"] = "https://clinicaltrials.gov", ["value"] = "NCT07282184" }, ["display"] = "NCT07282184" },
        ["individual"] = new JsonObject { ["reference"] = "Patient/p1" },
    };

    private static JsonObject Resection(DateTimeOffset when) => new()
    {
        ["resourceType"] = "Procedure",
        ["id"] = "resection-1",
        ["status"] = "completed",
        ["code"] = new JsonObject { ["coding"] = new JsonArray(new JsonObject { ["system"] = "http://www.ama-assn.org/go/cpt", ["code"] = "47120" }), ["text"] = "Partial hepatectomy" },
        ["subject"] = new JsonObject { ["reference"] = "Patient/p1" },
        ["performedDateTime"] = when.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
    };

    private async Task<JsonNode> CallAsync(JsonObject prefetch)
    {
        using var client = _factory.CreateClient();
        var response = await client.PostAsync(new Uri(HookRequests.PatientViewPath, UriKind.Relative), HookRequests.Json(HookRequests.PatientView(prefetch)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        JsonAssert.NoEmptyValues(body, "$", "$.cards"); // CDS Hooks: nothing to say is {"cards": []}
        return body;
    }

    [Fact]
    public async Task OnStudyPatient_GetsTheFollowUpCardAndExtension_NotTheScreeningCard()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["research-subjects"] = HookRequests.Searchset(Subject("on-study-intervention"));
        // Resected 200 days ago, nothing since: the month-3 items are overdue.
        prefetch["procedures"] = HookRequests.Searchset(Resection(DateTimeOffset.UtcNow.AddDays(-200)));
        var body = await CallAsync(prefetch);

        var cards = body["cards"]!.AsArray();
        Assert.DoesNotContain(cards, c => c!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>() is "eligible" or "needs-data" or "ineligible" or "low-risk" or "pending");
        var card = cards.Single(c => c!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>() == "follow-up")!;
        var ext = card["extension"]!["cdsrisk"]!;
        Assert.Equal("on-study", ext["outcome"]!.GetValue<string>());
        Assert.Equal("warning", card["indicator"]!.GetValue<string>());
        var followUp = ext["followUp"]!;
        Assert.Equal("Procedure/resection-1", followUp["anchor"]!["reference"]!.GetValue<string>());
        Assert.Equal("ResearchSubject/rs-1", followUp["researchSubject"]!.GetValue<string>());
        var items = followUp["items"]!.AsArray();
        Assert.Equal(24, items.Count);
        var m3 = items.Single(i => i!["id"]!.GetValue<string>() == "m3-imaging")!;
        Assert.Equal("overdue", m3["status"]!.GetValue<string>());
        Assert.Null(m3["evidence"]); // CDS Hooks JSON: no empty arrays
        Assert.Null(followUp["signals"]);
        // The two post-operative criteria are this assessment's criteria; no PRE, no model score on an on-study card.
        Assert.Equal(["early-death-or-loss", "non-hcc-pathology"], ext["criteria"]!.AsObject().Select(p => p.Key).Order());
        Assert.Null(ext["preScore"]);
    }

    [Fact]
    public async Task WithdrawnPatient_GetsNoTrialCard()
    {
        var prefetch = HookRequests.FullPrefetch();
        prefetch["research-subjects"] = HookRequests.Searchset(Subject("withdrawn"));
        var body = await CallAsync(prefetch);
        Assert.Empty(body["cards"]!.AsArray());
    }

    [Fact]
    public async Task ResearchSubjectsUnreadable_ScreeningStillAnswers()
    {
        // No fhirServer and no research-subjects key: the follow-up's category is unreadable, screening is not blocked by it.
        var prefetch = HookRequests.FullPrefetch();
        prefetch.Remove("research-subjects");
        var body = await CallAsync(prefetch);
        Assert.NotEqual("not-assessed", body["cards"]![0]!["extension"]!["cdsrisk"]!["outcome"]!.GetValue<string>());
    }
}
