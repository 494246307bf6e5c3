using System.Text.Json.Nodes;
using CdsRisk.Cli.Demo;

namespace CdsRisk.UnitTests.Cli;

/// <summary>The demo's check of an on-study scenario (issue 17 item 3) passes the answer it was designed for and names each difference.</summary>
public sealed class FollowUpCheckTests
{
    private static readonly JsonObject Expected = JsonNode.Parse("""
        {"overdue": ["m6-imaging"], "done": ["m6-afp"], "signals": ["alt-increased"], "cards": ["safety-signal", "follow-up"]}
        """)!.AsObject();

    private static List<JsonObject> Cards(string m6Imaging = "overdue", string? signal = "alt-increased", string actuality = "potential")
    {
        JsonObject FollowUp() => new()
        {
            ["items"] = new JsonArray(
                new JsonObject { ["id"] = "m6-imaging", ["status"] = m6Imaging },
                new JsonObject { ["id"] = "m6-afp", ["status"] = "done" }),
            ["signals"] = signal is null ? null : new JsonArray(new JsonObject { ["id"] = signal, ["grade"] = 3 }),
        };
        JsonObject Extension(string card) => new() { ["cdsrisk"] = new JsonObject { ["card"] = card, ["outcome"] = "on-study", ["followUp"] = FollowUp() } };
        return
        [
            new JsonObject
            {
                ["summary"] = "Possible grade 3 adverse event — assess and report per protocol",
                ["suggestions"] = new JsonArray(new JsonObject
                {
                    ["label"] = "Draft a potential adverse event",
                    ["actions"] = new JsonArray(new JsonObject { ["type"] = "create", ["resource"] = new JsonObject { ["resourceType"] = "AdverseEvent", ["actuality"] = actuality } }),
                }),
                ["extension"] = Extension("safety-signal"),
            },
            new JsonObject { ["summary"] = "On NCT07282184 follow-up: 1 overdue", ["extension"] = Extension("follow-up") },
        ];
    }

    [Fact]
    public void TheDesignedAnswer_HasNoProblems() => Assert.Empty(FollowUpCheck.Problems(Expected, Cards()));

    [Fact]
    public void AnItemNotOverdue_IsNamed() =>
        Assert.Contains("overdue none, expected m6-imaging", FollowUpCheck.Problems(Expected, Cards(m6Imaging: "done")));

    [Fact]
    public void AMissingSignal_IsNamed() =>
        Assert.Contains("signals none, expected alt-increased", FollowUpCheck.Problems(Expected, Cards(signal: null)));

    [Fact]
    public void ASuggestionThatIsNotAPotentialAdverseEvent_IsNamed() =>
        Assert.Contains("the safety-signal card has no suggestion creating a potential AdverseEvent", FollowUpCheck.Problems(Expected, Cards(actuality: "actual")));

    [Fact]
    public void OtherCardKinds_AreNamed() =>
        Assert.Contains("cards follow-up, expected safety-signal,follow-up", FollowUpCheck.Problems(Expected, Cards().Skip(1).ToList()));
}
