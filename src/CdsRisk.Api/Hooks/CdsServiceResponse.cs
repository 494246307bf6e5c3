using System.Text.Json;
using System.Text.Json.Serialization;
using CdsRisk.Core.Cards;

namespace CdsRisk.Api.Hooks;

// The one set of CDS Hooks wire records: built once from CdsRisk.Core.Cards.CardContent (HookCards.ToWire) and serialized once
// with CdsHooksJson's options, whose one enum converter writes every enum in kebab-case (CardIndicator.Critical → "critical").

/// <summary>CDS Hooks 2.0 §CDS Service Response. <c>cards</c> is always written, even when empty.</summary>
public sealed record CdsServiceResponse
{
    [AlwaysWrite]
    public required IReadOnlyList<Card> Cards { get; init; }

    public IReadOnlyList<Action>? SystemActions { get; init; }
}

/// <summary>CDS Hooks 2.0 §Card Attributes.</summary>
public sealed record Card
{
    /// <summary>Unique id of this card, used in feedback.</summary>
    public string? Uuid { get; init; }

    /// <summary>One-sentence summary, fewer than 140 characters.</summary>
    public required string Summary { get; init; }

    /// <summary>GitHub-flavoured Markdown.</summary>
    public string? Detail { get; init; }

    /// <summary><c>info</c>, <c>warning</c> or <c>critical</c>.</summary>
    public required CardIndicator Indicator { get; init; }

    public required Source Source { get; init; }

    public IReadOnlyList<Suggestion>? Suggestions { get; init; }

    /// <summary><c>at-most-one</c> or <c>any</c>; required when suggestions are present.</summary>
    public SelectionBehavior? SelectionBehavior { get; init; }

    public IReadOnlyList<Coding>? OverrideReasons { get; init; }

    public IReadOnlyList<Link>? Links { get; init; }

    /// <summary>Card extensions; this service always sets <c>cdsrisk</c>.</summary>
    public CardExtension? Extension { get; init; }
}

/// <summary>CDS Hooks 2.0 §Source.</summary>
public sealed record Source
{
    public required string Label { get; init; }
    public string? Url { get; init; }
    public string? Icon { get; init; }
    public Coding? Topic { get; init; }
}

/// <summary>A FHIR Coding as CDS Hooks carries it.</summary>
public sealed record Coding : IOmittable
{
    public string? System { get; init; }
    public string? Code { get; init; }
    public string? Display { get; init; }

    [JsonIgnore]
    public bool IsEmpty => string.IsNullOrEmpty(System) && string.IsNullOrEmpty(Code) && string.IsNullOrEmpty(Display);
}

/// <summary>CDS Hooks 2.0 §Suggestion.</summary>
public sealed record Suggestion
{
    public required string Label { get; init; }
    public string? Uuid { get; init; }
    public bool? IsRecommended { get; init; }
    public IReadOnlyList<Action>? Actions { get; init; }
}

/// <summary>CDS Hooks 2.0 §Action; also the shape of a system action (§System Action).</summary>
public sealed record Action
{
    /// <summary><c>create</c>, <c>update</c> or <c>delete</c>.</summary>
    public required ActionType Type { get; init; }
    public required string Description { get; init; }

    /// <summary>The whole FHIR resource for create and update.</summary>
    public JsonElement? Resource { get; init; }

    /// <summary><c>Type/id</c> for delete.</summary>
    public string? ResourceId { get; init; }
}

/// <summary>CDS Hooks 2.0 §Link.</summary>
public sealed record Link
{
    public required string Label { get; init; }
    public required string Url { get; init; }

    /// <summary><c>absolute</c> or <c>smart</c>.</summary>
    public required LinkType Type { get; init; }

    /// <summary>SMART links only: what the app is to show, as JSON text (here <c>{"assessment":"&lt;hookInstance&gt;"}</c>).</summary>
    public string? AppContext { get; init; }
    public bool? Autolaunchable { get; init; }
}
