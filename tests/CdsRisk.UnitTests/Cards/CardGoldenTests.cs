using System.Text.Json.Nodes;
using CdsRisk.Core.Cards;

namespace CdsRisk.UnitTests.Cards;

public sealed class CardGoldenTests
{
    public static TheoryData<string> Cases() => [.. CardFixtures.Golden().Select(g => g.Name)];

    private static CardInput InputFor(string name) => CardFixtures.Golden().Single(g => g.Name == name).Input;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cards_MatchTheGoldenJson_FieldByField(string name)
    {
        var json = CardJson.ToJson(CardBuilder.Build(InputFor(name)));
        GoldenJson.AssertMatches(name, json);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryCard_HasASummaryUnder140Characters(string name)
    {
        Assert.All(CardBuilder.Build(InputFor(name)), c =>
        {
            Assert.InRange(c.Summary.Length, 1, 139);
            Assert.DoesNotContain('\n', c.Summary);
        });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SerialisedCards_ContainNoNullOrEmptyValues(string name)
    {
        var json = CardJson.ToJson(CardBuilder.Build(InputFor(name)));
        var problems = new List<string>();
        FindEmpty("$", json, problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryCard_HasTheSpecRequiredFields(string name)
    {
        foreach (var card in CardJson.ToJson(CardBuilder.Build(InputFor(name)))["cards"]!.AsArray())
        {
            Assert.True(Guid.TryParse((string?)card!["uuid"], out _));
            Assert.Contains((string?)card["indicator"], new[] { "info", "warning", "critical" });
            Assert.False(string.IsNullOrWhiteSpace((string?)card["source"]?["label"]));
            if (card["suggestions"] is JsonArray suggestions)
            {
                Assert.Contains((string?)card["selectionBehavior"], new[] { "at-most-one", "any" });
                Assert.All(suggestions, s => Assert.NotEmpty(s!["actions"]!.AsArray()));
            }

            if (card["overrideReasons"] is JsonArray reasons)
            {
                Assert.All(reasons, r => Assert.False(string.IsNullOrWhiteSpace((string?)r!["display"])));
            }

            Assert.Equal(17, card["extension"]!["cdsrisk"]!["criteria"]!.AsArray().Count);
        }
    }

    private static void FindEmpty(string path, JsonNode? node, List<string> problems)
    {
        switch (node)
        {
            case null:
                problems.Add($"{path} is null");
                break;
            case JsonObject o:
                if (o.Count == 0)
                {
                    problems.Add($"{path} is {{}}");
                }

                foreach (var (key, value) in o)
                {
                    FindEmpty($"{path}.{key}", value, problems);
                }

                break;
            case JsonArray a:
                if (a.Count == 0 && path != "$.cards")
                {
                    problems.Add($"{path} is []");
                }

                for (var i = 0; i < a.Count; i++)
                {
                    FindEmpty($"{path}[{i}]", a[i], problems);
                }

                break;
            case JsonValue v when v.TryGetValue<string>(out var s) && string.IsNullOrWhiteSpace(s):
                problems.Add($"{path} is an empty string");
                break;
        }
    }
}
