using Hl7.Fhir.Model;

namespace CdsRisk.Core.Cards;

/// <summary>One card as the service means it; the HTTP layer maps it 1:1 onto the CDS Hooks 2.0 Card (§ card-attributes).</summary>
public sealed record CardContent
{
    /// <summary>Which of our cards this is (not a wire field; goes into the cdsrisk extension).</summary>
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

    /// <summary>The "cdsrisk" card extension: outcome, score and every criterion, for the EHR and the audit trail.</summary>
    public required CdsRiskCardExtension Extension { get; init; }
}

public enum CardKind
{
    Eligible,
    LowRisk,
    Ineligible,
    NeedsData,
    Pending,
    ResectionBeforeEnrolment,
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

/// <summary>The extension object on each card (CDS Hooks §extensions), key "cdsrisk".</summary>
public sealed record CdsRiskCardExtension
{
    public required string Outcome { get; init; }
    public required string Card { get; init; }
    public double? Pre { get; init; }
    public required double Threshold { get; init; }
    /// <summary>"high" or "low" when there is a score.</summary>
    public string? Risk { get; init; }
    public required ModelIdentity Model { get; init; }
    public required IReadOnlyList<CriterionLine> Criteria { get; init; }
    public IReadOnlyList<string> ImputedFeatures { get; init; } = [];
    public string? RiskAssessment { get; init; }

    /// <summary>On study: the follow-up schedule, signals and post-operative exclusions (issue 17).</summary>
    public FollowUp.FollowUpResult? FollowUp { get; init; }
}

/// <summary>One row of the criteria table, in wire form (status as in <see cref="Eligibility.WireNames"/>).</summary>
public sealed record CriterionLine(string Id, string Label, string Status, string Reason, IReadOnlyList<Eligibility.Evidence> Evidence, string? ToRecord);

public static class CardWireNames
{
    public static string ToWire(this CardKind k) => k switch
    {
        CardKind.Eligible => "eligible",
        CardKind.LowRisk => "low-risk",
        CardKind.Ineligible => "ineligible",
        CardKind.NeedsData => "needs-data",
        CardKind.Pending => "pending",
        CardKind.ResectionBeforeEnrolment => "resection-before-enrolment",
        CardKind.RegimenHypersensitivity => "regimen-hypersensitivity",
        CardKind.NotAssessed => "not-assessed",
        CardKind.FollowUp => "follow-up",
        CardKind.SafetySignal => "safety-signal",
        CardKind.PostOperativeExclusion => "post-operative-exclusion",
        _ => throw new ArgumentOutOfRangeException(nameof(k)),
    };

    public static string ToWire(this CardIndicator i) => i switch
    {
        CardIndicator.Info => "info",
        CardIndicator.Warning => "warning",
        CardIndicator.Critical => "critical",
        _ => throw new ArgumentOutOfRangeException(nameof(i)),
    };

    public static string ToWire(this SelectionBehavior s) => s switch
    {
        SelectionBehavior.AtMostOne => "at-most-one",
        SelectionBehavior.Any => "any",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static string ToWire(this ActionType a) => a switch
    {
        ActionType.Create => "create",
        ActionType.Update => "update",
        ActionType.Delete => "delete",
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    public static string ToWire(this LinkType l) => l switch
    {
        LinkType.Absolute => "absolute",
        LinkType.Smart => "smart",
        _ => throw new ArgumentOutOfRangeException(nameof(l)),
    };
}
