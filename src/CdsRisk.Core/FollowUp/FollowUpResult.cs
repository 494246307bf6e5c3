using CdsRisk.Core.Eligibility;

namespace CdsRisk.Core.FollowUp;

/// <summary>Where the patient stands with the trial, from their ResearchSubject resources.</summary>
public enum EnrolmentState
{
    /// <summary>No ResearchSubject for the trial, or one still in screening (candidate, eligible, pending-on-study ...): screening goes on.</summary>
    NotEnrolled,

    /// <summary>on-study, on-study-intervention, on-study-observation or follow-up: the follow-up card replaces the screening card.</summary>
    OnStudy,

    /// <summary>withdrawn or off-study (and not on study): no trial card at all.</summary>
    OffStudy,
}

/// <summary>The ResearchSubject the state was read from (its reference and R4 status code), when there is one.</summary>
public sealed record Enrolment(EnrolmentState State, string? Reference = null, string? Status = null)
{
    /// <summary>ResearchSubject.period.start, when recorded.</summary>
    public DateTimeOffset? Since { get; init; }

    public static Enrolment None { get; } = new(EnrolmentState.NotEnrolled);
}

/// <summary>done (with evidence), due (inside its window), overdue (window passed, nothing on record), upcoming.</summary>
public enum FollowUpItemStatus
{
    Done,
    Due,
    Overdue,
    Upcoming,
}

/// <summary>One follow-up item: <c>m3-imaging</c> … <c>m24-lft</c>, or <c>cycle-2-labs</c>.</summary>
public sealed record FollowUpItem(string Id, string What, DateOnly Due, DateOnly WindowStart, DateOnly WindowEnd, FollowUpItemStatus Status, IReadOnlyList<Evidence> Evidence);

/// <summary>
/// A possible adverse event: the CTCAE v5.0 term, the grade its numbers fall in (null when CTCAE grades it on symptoms, e.g. thyroid
/// dysfunction), the reason and the evidence. A signal points at the evidence; it is never a diagnosis of an adverse event.
/// </summary>
public sealed record SafetySignal(string Id, string Term, int? Grade, string Reason, IReadOnlyList<Evidence> Evidence);

/// <summary>What the record shows after enrolment: the schedule, the signals, the two post-operative exclusion criteria.</summary>
public sealed record FollowUpResult
{
    public required Enrolment Enrolment { get; init; }
    public required DateTimeOffset EvaluatedAt { get; init; }

    /// <summary>The completed liver resection the schedule is anchored on; null when none is on record.</summary>
    public Evidence? Anchor { get; init; }
    public IReadOnlyList<FollowUpItem> Items { get; init; } = [];
    public IReadOnlyList<SafetySignal> Signals { get; init; } = [];

    /// <summary>Whether a regimen drug was given recently or is prescribed now (signals are read only then).</summary>
    public bool OnProtocolTherapy { get; init; }

    /// <summary>non-hcc-pathology and early-death-or-loss, settled where the record settles them.</summary>
    public required IReadOnlyList<CriterionResult> Exclusions { get; init; }

    public IEnumerable<FollowUpItem> Overdue => Items.Where(i => i.Status == FollowUpItemStatus.Overdue);
    public IEnumerable<FollowUpItem> Due => Items.Where(i => i.Status == FollowUpItemStatus.Due);

    /// <summary>The next upcoming item of each kind (the card shows these when nothing is due).</summary>
    public FollowUpItem? NextUpcoming => Items.Where(i => i.Status == FollowUpItemStatus.Upcoming).OrderBy(i => i.Due).FirstOrDefault();

    public IEnumerable<CriterionResult> MetExclusions => Exclusions.Where(e => e.Status == CriterionStatus.Fail);

    /// <summary>One line for the audit record and logs-free summaries.</summary>
    public string Summary =>
        $"on study: {Overdue.Count()} overdue, {Due.Count()} due, {Signals.Count} signal(s)"
        + (MetExclusions.Any() ? ", exclusion met: " + string.Join(", ", MetExclusions.Select(e => e.Id)) : "");
}

public static class FollowUpWireNames
{
    public static string ToWire(this FollowUpItemStatus s) => s switch
    {
        FollowUpItemStatus.Done => "done",
        FollowUpItemStatus.Due => "due",
        FollowUpItemStatus.Overdue => "overdue",
        FollowUpItemStatus.Upcoming => "upcoming",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };
}
