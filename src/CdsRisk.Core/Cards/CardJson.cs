using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Core.Eligibility;
using Hl7.Fhir.Serialization;

namespace CdsRisk.Core.Cards;

/// <summary>
/// The CDS Hooks 2.0 JSON of a card: field names as the spec names them, the "cdsrisk" extension,
/// and no null, empty string, empty list or empty object anywhere (§use-of-json).
/// </summary>
public static class CardJson
{
    public const string ExtensionKey = "cdsrisk";

    private static readonly JsonSerializerOptions FhirOptions = new JsonSerializerOptions().ForFhir();

    public static JsonObject ToJson(CardContent card)
    {
        var o = new JsonObject
        {
            ["uuid"] = card.Uuid.ToString(),
            ["summary"] = card.Summary,
            ["detail"] = card.Detail,
            ["indicator"] = card.Indicator.ToWire(),
            ["source"] = Source(card.Source),
        };
        AddList(o, "suggestions", card.Suggestions.Select(Suggestion));
        if (card.SelectionBehavior is { } sb)
        {
            o["selectionBehavior"] = sb.ToWire();
        }

        AddList(o, "overrideReasons", card.OverrideReasons.Select(Coding));
        AddList(o, "links", card.Links.Select(Link));
        o["extension"] = new JsonObject { [ExtensionKey] = Extension(card.Extension) };
        return o;
    }

    public static JsonObject ToJson(IEnumerable<CardContent> cards) =>
        new() { ["cards"] = new JsonArray([.. cards.Select(c => (JsonNode)ToJson(c))]) };

    private static JsonObject Source(CardSource s)
    {
        var o = new JsonObject { ["label"] = s.Label };
        AddString(o, "url", s.Url);
        if (s.Topic is { } topic)
        {
            o["topic"] = Coding(topic);
        }

        return o;
    }

    private static JsonObject Coding(CardCoding c) =>
        new() { ["system"] = c.System, ["code"] = c.Code, ["display"] = c.Display };

    private static JsonObject Suggestion(CardSuggestion s)
    {
        var o = new JsonObject { ["label"] = s.Label, ["uuid"] = s.Uuid.ToString(), ["isRecommended"] = s.IsRecommended };
        AddList(o, "actions", s.Actions.Select(Action));
        return o;
    }

    private static JsonObject Action(CardAction a)
    {
        var o = new JsonObject { ["type"] = a.Type.ToWire(), ["description"] = a.Description };
        if (a.Resource is { } resource)
        {
            o["resource"] = JsonSerializer.SerializeToNode(resource, resource.GetType(), FhirOptions);
        }

        AddString(o, "resourceId", a.ResourceId);
        return o;
    }

    private static JsonObject Link(CardLink l)
    {
        var o = new JsonObject { ["label"] = l.Label, ["url"] = l.Url, ["type"] = l.Type.ToWire() };
        AddString(o, "appContext", l.AppContext);
        return o;
    }

    private static JsonObject Extension(CdsRiskCardExtension e)
    {
        var o = new JsonObject { ["outcome"] = e.Outcome, ["card"] = e.Card };
        if (e.Pre is { } pre)
        {
            o["pre"] = pre;
        }

        o["threshold"] = e.Threshold;
        AddString(o, "risk", e.Risk);
        var model = new JsonObject
        {
            ["id"] = e.Model.Id,
            ["version"] = e.Model.Version,
            ["sha256"] = e.Model.Sha256,
            ["referenceModel"] = e.Model.IsReferenceModel,
        };
        AddString(model, "modelCardUrl", e.Model.ModelCardUrl);
        o["model"] = model;
        AddList(o, "criteria", e.Criteria.Select(Criterion));
        AddList(o, "imputedFeatures", e.ImputedFeatures.Select(f => (JsonNode)JsonValue.Create(f)));
        AddString(o, "riskAssessment", e.RiskAssessment);
        return o;
    }

    private static JsonObject Criterion(CriterionLine c)
    {
        var o = new JsonObject { ["id"] = c.Id, ["status"] = c.Status };
        AddString(o, "reason", c.Reason);
        AddString(o, "toRecord", c.ToRecord);
        AddList(o, "evidence", c.Evidence.Select(Evidence));
        return o;
    }

    private static JsonObject Evidence(Evidence e)
    {
        var o = new JsonObject();
        AddString(o, "reference", e.Reference);
        AddString(o, "description", e.Description);
        AddString(o, "value", e.Value);
        if (e.Date is { } date)
        {
            o["date"] = date.ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        }

        return o;
    }

    private static void AddString(JsonObject o, string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            o[name] = value;
        }
    }

    private static void AddList(JsonObject o, string name, IEnumerable<JsonNode?> items)
    {
        var array = new JsonArray([.. items.Where(i => i is not null)]);
        if (array.Count > 0)
        {
            o[name] = array;
        }
    }
}
