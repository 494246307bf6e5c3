using System.Text.Json.Nodes;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Cards;

/// <summary>
/// The cards of every outcome and card kind, exactly as production sends them: a vignette through the eligibility engine and
/// <see cref="Api.Pipeline.HookCards"/> (CardBuilder, the one mapping onto the wire records), serialized with the service's
/// options (<see cref="Api.Hooks.CdsHooksJson"/>), compared field by field with Golden/*.json.
/// </summary>
public sealed class CardGoldenTests
{
    /// <summary>Golden name → the call that produces it.</summary>
    internal static readonly IReadOnlyDictionary<string, Func<JsonObject>> Calls = new Dictionary<string, Func<JsonObject>>
    {
        ["eligible"] = () => Answer("01-base-eligible"),
        ["eligible-to-confirm"] = () => Answer("86-secondary-lung-malignancy-to-confirm"),
        ["low-risk"] = () => Answer("54-pre-low"),
        ["ineligible"] = () => Answer("39-heart-failure-nyha-3"),
        ["needs-data"] = () => Answer("21-ecog-missing"),
        ["needs-data-mri-phase-missing"] = () => Answer("57-pre-unavailable-phase-missing"),
        ["pending"] = () => Answer("98-mri-single-dynamic-series-not-read"),
        ["not-assessed"] = () => Answer("01-base-eligible", unreadable: ["AllergyIntolerance"]),
        ["order-select-resection"] = () => Answer("01-base-eligible", CardBuilder.OrderSelect, p => [VignetteCards.Hepatectomy(p)]),
        ["order-sign-resection"] = () => Answer("01-base-eligible", CardBuilder.OrderSign, p => [VignetteCards.Hepatectomy(p), VignetteCards.Carboplatin(p)]),
        ["order-select-hypersensitivity"] = () => Answer("27-allergy-by-code", CardBuilder.OrderSelect, p => [VignetteCards.Carboplatin(p)]),
        ["order-select-unrelated"] = () => Answer("01-base-eligible", CardBuilder.OrderSelect, p => [new MedicationRequest { Id = "empty-draft" }]),
        ["on-study-signal-exclusion"] = OnStudyAnswer,
    };

    public static TheoryData<string> Cases() => [.. Calls.Keys];

    private static JsonObject Answer(string vignette, string hook = CardBuilder.PatientView, Func<string, Resource[]>? orders = null, IReadOnlyList<string>? unreadable = null) =>
        VignetteCards.Json(VignetteCards.Answer(vignette, hook, orders, unreadable));

    /// <summary>
    /// Issue 17: an on-study patient during oxaliplatin with a grade 3 ALT rise and post-operative cholangiocarcinoma — the safety
    /// signal, the post-operative exclusion and the follow-up card, through the same wire mapping as every other card.
    /// </summary>
    private static JsonObject OnStudyAnswer()
    {
        var data = EligibilityData.LoadEmbedded();
        var at = new DateTimeOffset(2026, 3, 10, 9, 0, 0, TimeSpan.Zero);
        var records = FollowUp.FollowUpRecords.OnStudy()
            .Lab("777-3", 180m, "10*9/L", at.AddDays(-7)).Lab("1975-2", 12m, "umol/L", at.AddDays(-7), 21m)
            .Oxaliplatin(at.AddDays(-6))
            .Lab("1742-6", 250m, "U/L", at.AddDays(-1), 40m);
        records.Observations.Add(new Observation
        {
            Id = "path-1",
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "22637-3"),
            Effective = new FhirDateTime(FollowUp.FollowUpRecords.Resection.AddDays(6)),
            Value = new CodeableConcept("http://snomed.info/sct", "312104005", "Cholangiocarcinoma"),
        });
        var record = records.Build();
        var engine = new CdsRisk.Core.FollowUp.FollowUpEngine(data);
        var result = engine.Evaluate(record, new EligibilityEngine(data).Snapshot(record, at), engine.Enrolment(record, []), at);
        var input = CardFixtures.Input(EligibilityOutcome.OnStudy, [.. result.Exclusions], null);
        return VignetteCards.Json(new Api.Hooks.CdsServiceResponse { Cards = Api.Pipeline.HookCards.FollowUpCards(input, result) });
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Cards_MatchTheGoldenJson_FieldByField(string name) => GoldenJson.AssertMatches(name, Calls[name]());

    [Fact]
    public void EveryCardKind_HasAGoldenCard()
    {
        var kinds = Calls.Values.SelectMany(call => call()["cards"]!.AsArray()).Select(c => c!["extension"]!["cdsrisk"]!["card"]!.GetValue<string>()).ToHashSet();
        Assert.Equal(Enum.GetValues<CardKind>().Select(k => k.ToWire()).Order(), kinds.Order());
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void SerialisedCards_ContainNoNullOrEmptyValues(string name)
    {
        var problems = new List<string>();
        FindEmpty("$", Calls[name](), problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void EveryCard_HasTheSpecRequiredFields(string name)
    {
        foreach (var card in Calls[name]()["cards"]!.AsArray())
        {
            Assert.True(Guid.TryParse((string?)card!["uuid"], out _));
            Assert.InRange(card["summary"]!.GetValue<string>().Length, 1, 139);
            Assert.DoesNotContain('\n', card["summary"]!.GetValue<string>());
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

            foreach (var link in card["links"] as JsonArray ?? [])
            {
                Assert.Contains((string?)link!["type"], new[] { "absolute", "smart" });
                Assert.Equal(link["type"]!.GetValue<string>() == "smart", link["appContext"] is not null);
            }

            // Every criterion with its evidence stays in the extension, for machines (issue 14 section 5): the 17 screening
            // criteria, or for a patient on study the two post-operative ones (issue 17).
            var onStudy = card["extension"]!["cdsrisk"]!["outcome"]!.GetValue<string>() == "on-study";
            Assert.Equal(onStudy ? 2 : 17, card["extension"]!["cdsrisk"]!["criteria"]!.AsObject().Count);
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
