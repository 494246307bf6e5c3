using System.Text.Json.Serialization;

namespace CdsRisk.Api.Hooks;

/// <summary>CDS Hooks 2.0 §Feedback: the body of <c>POST /cds-services/{id}/feedback</c>.</summary>
public sealed record FeedbackRequest
{
    public IReadOnlyList<Feedback>? Feedback { get; init; }
}

/// <summary>What the user did with one card.</summary>
public sealed record Feedback
{
    /// <summary>The card's uuid.</summary>
    public string? Card { get; init; }

    /// <summary><c>accepted</c> or <c>overridden</c>.</summary>
    public string? Outcome { get; init; }

    public IReadOnlyList<AcceptedSuggestion>? AcceptedSuggestions { get; init; }

    public OverrideReason? OverrideReason { get; init; }

    /// <summary>ISO 8601 date-time with offset.</summary>
    public string? OutcomeTimestamp { get; init; }
}

public sealed record AcceptedSuggestion
{
    public string? Id { get; init; }
}

/// <summary>CDS Hooks 2.0 §Overridden guidance: the reason chosen and an optional comment.</summary>
public sealed record OverrideReason : IOmittable
{
    public Coding? Reason { get; init; }
    public string? UserComment { get; init; }

    [JsonIgnore]
    public bool IsEmpty => (Reason is null || Reason.IsEmpty) && string.IsNullOrEmpty(UserComment);
}
