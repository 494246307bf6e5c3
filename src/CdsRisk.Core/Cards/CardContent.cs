using Hl7.Fhir.Model;

namespace CdsRisk.Core.Cards;

/// <summary>
/// One card as the service means it, before it is put on the wire: the API maps it once onto its CDS Hooks 2.0 wire records
/// (§card-attributes), together with the <c>cdsrisk</c> extension it builds from the same <see cref="CardInput"/>.
/// </summary>
public sealed record CardContent
{
    /// <summary>Which of our cards this is (<c>source.topic</c> and <c>extension.cdsrisk.card</c>).</summary>
    public required CardKind Kind { get; init; }

    public required Guid Uuid { get; init; }

    /// <summary>Under 140 characters (CDS Hooks §card-attributes); enforced by <see cref="CardText.FitSummary"/>.</summary>
    public required string Summary { get; init; }

    /// <summary>GitHub-flavoured Markdown.</summary>
    public required string Detail { get; init; }

    public required CardIndicator Indicator { get; init; }

    public required CardSource Source { get; init; }

    public IReadOnlyList<CardSuggestion> Suggestions { get; init; } = [];

    /// <summary>Required by the spec whenever there are suggestions.</summary>
    public SelectionBehavior? SelectionBehavior { get; init; }

    public IReadOnlyList<CardCoding> OverrideReasons { get; init; } = [];

    public IReadOnlyList<CardLink> Links { get; init; } = [];
}

/// <summary>Our cards; on the wire in kebab-case (<see cref="Eligibility.WireNames"/>), as codes of the card-topic CodeSystem.</summary>
public enum CardKind
{
    Eligible,
    LowRisk,
    Ineligible,
    NeedsData,
    Pending,

    /// <summary>order-select / order-sign: a liver resection is ordered for a potential candidate, the moment to refer for screening.</summary>
    ResectionOrdered,
    RegimenHypersensitivity,
    NotAssessed,

    /// <summary>On study: the follow-up schedule (issue 17).</summary>
    FollowUp,

    /// <summary>On study: a possible grade 3 or higher adverse event to assess and report.</summary>
    SafetySignal,

    /// <summary>On study: a post-operative exclusion criterion is met (non-HCC pathology, early death or loss).</summary>
    PostOperativeExclusion,
}

public enum CardIndicator
{
    Info,
    Warning,
    Critical,
}

public enum SelectionBehavior
{
    AtMostOne,
    Any,
}

public enum ActionType
{
    Create,
    Update,
    Delete,
}

public enum LinkType
{
    Absolute,
    Smart,
}

public sealed record CardCoding(string System, string Code, string Display);

public sealed record CardSource(string Label, string? Url, CardCoding? Topic);

/// <param name="Resource">The whole resource for create/update.</param>
/// <param name="ResourceId">"Type/id" of the resource to delete (delete only).</param>
public sealed record CardAction(ActionType Type, string Description, Resource? Resource = null, string? ResourceId = null);

public sealed record CardSuggestion(string Label, Guid Uuid, bool IsRecommended, IReadOnlyList<CardAction> Actions);

/// <param name="AppContext">Only for SMART links.</param>
public sealed record CardLink(string Label, string Url, LinkType Type, string? AppContext = null);
