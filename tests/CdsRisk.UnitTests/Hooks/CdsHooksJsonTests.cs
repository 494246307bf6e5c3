using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.UnitTests.Hooks;

public sealed class CdsHooksJsonTests
{
    [Fact]
    public void EmptyResponse_IsExactlyCardsEmptyArray() =>
        Assert.Equal("""{"cards":[]}""", JsonSerializer.Serialize(new CdsServiceResponse { Cards = [] }, CdsHooksJson.Options));

    [Fact]
    public void OptionalMembersWithoutValue_AreOmitted_NotNullEmptyOrBlank()
    {
        var card = new Card
        {
            Summary = "s",
            Indicator = CdsRisk.Core.Cards.CardIndicator.Info,
            Detail = "",
            Source = new Source { Label = "l", Url = null, Topic = new Coding() },
            Links = [],
            OverrideReasons = [],
            Suggestions = null,
        };

        var json = JsonSerializer.Serialize(card, CdsHooksJson.Options);

        Assert.Equal("""{"summary":"s","indicator":"info","source":{"label":"l"}}""", json);
    }

    [Fact]
    public void SystemActions_AreOmittedWhenEmpty_AndWrittenWhenPresent()
    {
        var empty = JsonSerializer.Serialize(new CdsServiceResponse { Cards = [], SystemActions = [] }, CdsHooksJson.Options);
        var one = JsonSerializer.Serialize(new CdsServiceResponse { Cards = [], SystemActions = [new CdsRisk.Api.Hooks.Action { Type = CdsRisk.Core.Cards.ActionType.Delete, Description = "d", ResourceId = "Task/1" }] }, CdsHooksJson.Options);

        Assert.Equal("""{"cards":[]}""", empty);
        Assert.Equal("""{"cards":[],"systemActions":[{"type":"delete","description":"d","resourceId":"Task/1"}]}""", one);
    }

    [Fact]
    public void Request_IgnoresUnknownMembers_AndIsCaseSensitive()
    {
        var request = JsonSerializer.Deserialize<CdsServiceRequest>("""{"Hook":"x","hook":"patient-view","future":{"a":1},"extension":{"k":"v"}}""", CdsHooksJson.Options)!;

        Assert.Equal("patient-view", request.Hook);
        Assert.Equal(JsonValueKind.Object, request.Extension!.Value.ValueKind);
    }

    [Fact]
    public void Request_DistinguishesANullPrefetchKeyFromAnAbsentOne()
    {
        var request = JsonSerializer.Deserialize<CdsServiceRequest>("""{"prefetch":{"patient":null}}""", CdsHooksJson.Options)!;

        Assert.True(request.Prefetch!.ContainsKey("patient"));
        Assert.Null(request.Prefetch["patient"]);
        Assert.False(request.Prefetch.ContainsKey("conditions"));
    }

    [Fact]
    public void FhirAuthorization_UsesTheSpecsSnakeCaseNames_AndNeverPrintsTheToken()
    {
        var auth = JsonSerializer.Deserialize<FhirAuthorization>("""{"access_token":"SECRET","token_type":"Bearer","expires_in":300,"scope":"patient/*.read","subject":"svc"}""", CdsHooksJson.Options)!;

        Assert.Equal("SECRET", auth.AccessToken);
        Assert.Equal(300, auth.ExpiresIn);
        Assert.DoesNotContain("SECRET", auth.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Enums_AreWrittenOneWay_KebabCaseOfTheMemberName_AndNumbersAreRefused()
    {
        var card = new Card
        {
            Summary = "s",
            Indicator = CdsRisk.Core.Cards.CardIndicator.Critical,
            SelectionBehavior = CdsRisk.Core.Cards.SelectionBehavior.AtMostOne,
            Source = new Source { Label = "l" },
            Links = [new Link { Label = "l", Url = "https://example.org/", Type = CdsRisk.Core.Cards.LinkType.Smart, AppContext = "{}" }],
            Extension = new CardExtension
            {
                CdsRisk = new CdsRiskCardExtension
                {
                    Outcome = CdsRisk.Core.Eligibility.EligibilityOutcome.NeedsData,
                    Card = CdsRisk.Core.Cards.CardKind.ResectionOrdered,
                    Criteria = new Dictionary<string, CriterionEntry>
                    {
                        ["consent"] = new() { Status = CdsRisk.Core.Eligibility.CriterionStatus.ToBeConfirmed, Reason = "r", Evidence = [] },
                    },
                },
            },
        };

        var json = JsonSerializer.Serialize(card, CdsHooksJson.Options);

        Assert.Contains("\"indicator\":\"critical\"", json, StringComparison.Ordinal);
        Assert.Contains("\"selectionBehavior\":\"at-most-one\"", json, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"smart\"", json, StringComparison.Ordinal);
        Assert.Contains("\"outcome\":\"needs-data\"", json, StringComparison.Ordinal);
        Assert.Contains("\"card\":\"resection-ordered\"", json, StringComparison.Ordinal);
        Assert.Contains("\"status\":\"to-be-confirmed\"", json, StringComparison.Ordinal);
        Assert.Equal("to-be-confirmed", CriterionStatus.ToBeConfirmed.ToWire());
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<CriterionEntry>("""{"status":3,"reason":"r","evidence":[]}""", CdsHooksJson.Options));
    }

    [Fact]
    public void NumbersAsStrings_AreRejected()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<FhirAuthorization>("""{"expires_in":"300"}""", CdsHooksJson.Options));
    }
}
