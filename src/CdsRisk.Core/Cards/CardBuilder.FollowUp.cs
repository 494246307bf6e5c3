using System.Text;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.FollowUp;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.Cards;

/// <summary>The cards for a patient on study (issue 17): the follow-up card, a possible adverse event, a post-operative exclusion.</summary>
public static partial class CardBuilder
{
    /// <summary>
    /// The cards of an on-study patient: a warning for signals in a CTCAE grade 3 or higher band (with a draft AdverseEvent to
    /// complete), a warning for the trial team when a post-operative exclusion is met, and the follow-up card. No screening card.
    /// </summary>
    public static IReadOnlyList<CardContent> BuildFollowUp(CardInput input, FollowUpResult followUp)
    {
        Validate(input);
        if (input.Outcome != EligibilityOutcome.OnStudy || followUp.Enrolment.State != EnrolmentState.OnStudy)
        {
            throw new CardInputException("Outcome: the follow-up cards are for an on-study patient (outcome on-study).");
        }

        var cards = new List<CardContent>();
        var severe = followUp.Signals.Where(s => s.Grade >= 3).ToList();
        if (severe.Count > 0)
        {
            cards.Add(SafetySignalCard(input, followUp, severe));
        }

        var met = followUp.MetExclusions.ToList();
        if (met.Count > 0)
        {
            cards.Add(ExclusionCard(input, followUp, met));
        }

        cards.Add(FollowUpCard(input, followUp));
        return cards;
    }

    private static CardContent FollowUpCard(CardInput input, FollowUpResult f)
    {
        var overdue = f.Overdue.OrderBy(i => i.Due).ToList();
        var due = f.Due.OrderBy(i => i.Due).ToList();
        var md = new StringBuilder();
        string summary;
        if (f.Anchor is null && f.Items.Count == 0)
        {
            summary = "On NCT07282184: no completed liver resection on record to date the follow-up";
            md.AppendLine("The follow-up is counted from the completed liver resection; none is on record yet.").AppendLine();
        }
        else
        {
            summary = overdue.Count + due.Count == 0
                ? "On NCT07282184: follow-up up to date" + (f.NextUpcoming is { } n ? $"; next {ShortWhat(n)} {n.Due:yyyy-MM-dd}" : "")
                : $"On NCT07282184 follow-up: {Count(overdue.Count, "overdue")}{(overdue.Count > 0 && due.Count > 0 ? ", " : "")}{Count(due.Count, "due now")}";
            foreach (var item in overdue)
            {
                md.Append("- **Overdue**: ").Append(CardText.EscapeInline(item.What)).Append(" — due ").Append(item.Due.ToString("yyyy-MM-dd"))
                  .Append(", window ended ").Append(item.WindowEnd.ToString("yyyy-MM-dd")).AppendLine();
            }

            foreach (var item in due)
            {
                md.Append("- **Due**: ").Append(CardText.EscapeInline(item.What)).Append(" — by ").Append(item.WindowEnd.ToString("yyyy-MM-dd")).AppendLine();
            }

            if (f.NextUpcoming is { } next)
            {
                md.Append("- Next: ").Append(CardText.EscapeInline(next.What)).Append(" — ").Append(next.WindowStart.ToString("yyyy-MM-dd"))
                  .Append(" to ").Append(next.WindowEnd.ToString("yyyy-MM-dd")).AppendLine();
            }

            md.AppendLine();
            if (f.Anchor is { } anchor)
            {
                // Dates and words only: the record references stay in the extension (no internal identifiers on a card).
                md.Append("Follow-up counted from the resection of ").Append(anchor.Date is { } d ? d.ToString("yyyy-MM-dd") : "(no date)")
                  .Append("; ")
                  .Append(f.Items.Count(i => i.Status == FollowUpItemStatus.Done)).Append(" of ").Append(f.Items.Count).AppendLine(" items done.");
            }
        }

        var other = f.Signals.Where(s => s.Grade is null or < 3).ToList();
        if (other.Count > 0)
        {
            md.AppendLine().AppendLine("To assess:");
            foreach (var s in other)
            {
                md.Append("- ").Append(CardText.EscapeInline(s.Reason)).AppendLine();
            }
        }

        return FollowUpContent(input, f, CardKind.FollowUp, overdue.Count > 0 ? CardIndicator.Warning : CardIndicator.Info, summary, md);
    }

    private static CardContent SafetySignalCard(CardInput input, FollowUpResult f, IReadOnlyList<SafetySignal> severe)
    {
        var grade = severe.Max(s => s.Grade!.Value);
        var md = new StringBuilder();
        foreach (var s in severe)
        {
            md.Append("- ").Append(CardText.EscapeInline(s.Reason));
            if (s.Evidence.Count > 0 && s.Evidence[0].Date is { } d)
            {
                md.Append(" (").Append(d.ToString("yyyy-MM-dd")).Append(')');
            }

            md.AppendLine();
        }

        md.AppendLine().AppendLine("A value in a grade band is not a diagnosis: the investigator assesses it, grades it and reports it per protocol.");
        var suggestions = severe.Select(s => new CardSuggestion(
            $"Draft an adverse event report: {s.Term}",
            DeterministicUuid.Create($"suggestion|{input.HookInstance}|{CardKind.SafetySignal.ToWire()}|{s.Id}"),
            false,
            [new CardAction(ActionType.Create, "Draft AdverseEvent (actuality potential) for the investigator to complete", DraftAdverseEvent(input, s))])).ToList();
        return FollowUpContent(input, f, CardKind.SafetySignal, CardIndicator.Warning,
            $"Possible grade {grade} adverse event — assess and report per protocol", md) with
        {
            Suggestions = suggestions,
            SelectionBehavior = SelectionBehavior.Any,
        };
    }

    private static CardContent ExclusionCard(CardInput input, FollowUpResult f, IReadOnlyList<CriterionResult> met)
    {
        var md = new StringBuilder();
        foreach (var c in met)
        {
            md.Append("- **").Append(CardText.EscapeInline(ExclusionName(c.Id))).Append("**: ").Append(CardText.EscapeInline(c.Reason)).AppendLine();
            foreach (var e in c.Evidence.Where(e => e.Reference is not null))
            {
                md.Append("  - ").Append(CardText.EscapeInline(e.Description)).AppendLine(e.Date is { } d ? " (" + d.ToString("yyyy-MM-dd") + ")" : "");
            }
        }

        md.AppendLine().AppendLine("For the trial team to review against the protocol.");
        return FollowUpContent(input, f, CardKind.PostOperativeExclusion, CardIndicator.Warning,
            $"NCT07282184 exclusion met: {string.Join(", ", met.Select(c => ExclusionName(c.Id)))} — inform the trial team", md);
    }

    private static string ExclusionName(string id) => id switch
    {
        CriterionIds.NonHccPathology => "non-HCC pathology",
        CriterionIds.EarlyDeathOrLoss => "early death or loss",
        _ => id,
    };

    private static string Count(int n, string what) => n == 0 ? "" : $"{n} {what}";

    private static string ShortWhat(FollowUpItem item) => item.What;

    /// <summary>
    /// R4 AdverseEvent with actuality <c>potential</c> (R4 §AdverseEvent: "a potential adverse event" — nothing has been judged to
    /// have happened): the event named as a possible CTCAE term, the date of the evidence, and no seriousness or severity, which are
    /// the investigator's to record.
    /// </summary>
    private static AdverseEvent DraftAdverseEvent(CardInput input, SafetySignal signal) => new()
    {
        Actuality = AdverseEvent.AdverseEventActuality.Potential,
        Subject = new ResourceReference(input.PatientReference),
        Encounter = input.EncounterReference is { } enc ? new ResourceReference(enc) : null,
        Recorder = input.UserReference is { } user ? new ResourceReference(user) : null,
        Event = new CodeableConcept { Text = $"Possible {signal.Term} (CTCAE v5.0 grade {signal.Grade} band) — to be assessed" },
        DateElement = signal.Evidence.Count > 0 && signal.Evidence[0].Date is { } d ? new FhirDateTime(d) : null,
        Study = [new ResourceReference { Display = "NCT07282184" }],
    };

    private static CardContent FollowUpContent(CardInput input, FollowUpResult f, CardKind kind, CardIndicator indicator, string summary, StringBuilder md) => new()
    {
        Kind = kind,
        Uuid = CardUuid(input.HookInstance, kind),
        Summary = CardText.FitSummary(summary),
        Detail = md.ToString().TrimEnd() + "\n",
        Indicator = indicator,
        // Not a model output: the source is the screening service, never labelled with the reference model.
        Source = new CardSource(CardCodes.Source(referenceModel: false), input.Trial.TrialPageUrl, CardCodes.Topic(kind)),
        Links = Links(input, smartLink: true),
    };
}
