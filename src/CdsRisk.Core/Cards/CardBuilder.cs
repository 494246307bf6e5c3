using System.Text;
using System.Text.Json;
using CdsRisk.Core.Eligibility;
using Hl7.Fhir.Model;

namespace CdsRisk.Core.Cards;

/// <summary>Thrown when a <see cref="CardInput"/> is incomplete or contradicts itself; the message names the field.</summary>
public sealed class CardInputException(string message) : ArgumentException(message);

/// <summary>Turns one evaluation into the cards the clinician sees (issue 6, item 1). Pure: same input, same cards.</summary>
public static partial class CardBuilder
{
    public const string PatientView = "patient-view";
    public const string OrderSelect = "order-select";

    /// <summary>The card's uuid: the same hook instance and card kind always give the same uuid, so feedback on a retried call matches.</summary>
    public static Guid CardUuid(string hookInstance, CardKind kind) => DeterministicUuid.Create($"card|{hookInstance}|{kind.ToWire()}");

    public static IReadOnlyList<CardContent> Build(CardInput input)
    {
        Validate(input);
        var lines = CriterionLines(input.Criteria);
        var cards = new List<CardContent>();

        var orders = input.Hook == OrderSelect ? input.Orders : null;
        if (orders is { HypersensitiveOrders.Count: > 0 })
        {
            cards.Add(Hypersensitivity(input, lines, orders.HypersensitiveOrders));
        }

        if (input.Outcome == EligibilityOutcome.Eligible && orders is { LiverResectionSelected: true })
        {
            cards.Add(ResectionBeforeEnrolment(input, lines, orders));
        }
        else
        {
            cards.Add(input.Outcome switch
            {
                EligibilityOutcome.Eligible => Eligible(input, lines),
                EligibilityOutcome.LowRisk => LowRisk(input, lines),
                EligibilityOutcome.Ineligible => Ineligible(input, lines),
                EligibilityOutcome.NeedsData => NeedsData(input, lines),
                EligibilityOutcome.Pending => Pending(input, lines),
                EligibilityOutcome.NotAssessed => NotAssessed(input, lines),
                _ => throw new CardInputException($"Outcome: unknown value {input.Outcome}."),
            });
        }

        return cards;
    }

    private static CardContent Eligible(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var md = new StringBuilder();
        md.Append("**High risk of aggressive recurrence: PRE ").Append(pre)
          .Append(" (threshold ").Append(CardText.Score(input.Threshold)).AppendLine(").**")
          .AppendLine("Aggressive recurrence = first recurrence beyond the Milan criteria within 2 years of resection.").AppendLine();
        md.AppendLine("Every criterion that can be checked from the record is met. Recommended: refer the patient to the NCT07282184 trial team for enrolment and the **neoadjuvant + adjuvant therapy pathway before surgery** is scheduled.").AppendLine();
        AppendToBeConfirmed(md, lines);
        return Card(input, lines, CardKind.Eligible, CardIndicator.Warning,
            $"High recurrence risk (PRE {pre}): offer NCT07282184 enrolment and neoadjuvant therapy before surgery",
            md) with
        {
            Suggestions = EnrolmentSuggestions(input, CardKind.Eligible),
            SelectionBehavior = SelectionBehavior.AtMostOne,
            OverrideReasons = CardCodes.OverrideReasons,
        };
    }

    private static CardContent ResectionBeforeEnrolment(CardInput input, IReadOnlyList<CriterionLine> lines, OrderSelection orders)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var md = new StringBuilder();
        md.Append("**A liver resection is being ordered for a patient eligible for NCT07282184 at high risk of aggressive recurrence (PRE ")
          .Append(pre).Append(", threshold ").Append(CardText.Score(input.Threshold)).AppendLine(").**").AppendLine();
        if (orders.LiverResectionOrderReference is { } order)
        {
            md.Append("Selected order: ").Append(CardText.EscapeInline(order)).AppendLine(".").AppendLine();
        }

        md.AppendLine("In the trial, neoadjuvant therapy comes before surgery: refer the patient for enrolment **before the resection is scheduled**, or record why not.").AppendLine();
        AppendToBeConfirmed(md, lines);
        return Card(input, lines, CardKind.ResectionBeforeEnrolment, CardIndicator.Warning,
            $"Eligible for NCT07282184 (PRE {pre}): enrol and start neoadjuvant therapy before scheduling the resection",
            md) with
        {
            Suggestions = EnrolmentSuggestions(input, CardKind.ResectionBeforeEnrolment),
            SelectionBehavior = SelectionBehavior.AtMostOne,
            OverrideReasons = CardCodes.OverrideReasons,
        };
    }

    // A drug-safety alert: it names the recorded allergen, the ordered drug and how they relate (issue 14 section 2); it carries no
    // criteria table and no model section, since neither the trial criteria nor the PRE decide it.
    private static CardContent Hypersensitivity(CardInput input, IReadOnlyList<CriterionLine> lines, IReadOnlyList<HypersensitiveOrder> orders)
    {
        var md = new StringBuilder();
        md.AppendLine("**A selected order is for a drug related to a recorded hypersensitivity.**").AppendLine();
        foreach (var o in orders)
        {
            md.Append("- ").Append(CardText.EscapeInline(o.Drug)).Append(" ordered (").Append(CardText.EscapeInline(o.OrderReference)).Append(')');
            if (o.Allergen is { } allergen)
            {
                md.Append(": hypersensitivity recorded to ").Append(CardText.EscapeInline(allergen));
            }

            if (o.AllergyReference is { } allergy)
            {
                md.Append(" (").Append(CardText.EscapeInline(allergy)).Append(')');
            }

            if (o.Relation is { } relation)
            {
                md.Append("; ").Append(CardText.EscapeInline(relation));
            }

            md.AppendLine();
        }

        md.AppendLine();
        var suggestions = orders.Select(o => new CardSuggestion(
            $"Remove the {o.Drug} order",
            SuggestionUuid(input, CardKind.RegimenHypersensitivity, "remove|" + o.OrderReference),
            false,
            [new CardAction(ActionType.Delete, $"Remove the draft order {o.OrderReference} for {o.Drug}.", ResourceId: o.OrderReference)]))
            .ToList();
        var first = orders[0];
        var summary = first.Allergen is { } a && first.Relation is { } r
            ? $"Hypersensitivity recorded to {a}; {first.Drug} ordered: {ShortRelation(r)}"
            : $"Hypersensitivity recorded to {first.Drug}: review the selected order";
        return Card(input, lines, CardKind.RegimenHypersensitivity, CardIndicator.Critical, summary, md, withCriteria: false) with
        {
            Suggestions = suggestions,
            SelectionBehavior = SelectionBehavior.Any,
            OverrideReasons = [.. CardCodes.OverrideReasons.Where(r => r.Code is "clinical-judgement" or "data-incorrect")],
        };
    }

    private static string ShortRelation(string relation) => relation.Split(" (", 2)[0];

    private static CardContent LowRisk(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var threshold = CardText.Score(input.Threshold);
        var md = new StringBuilder();
        md.Append("**Low risk of aggressive recurrence: PRE ").Append(pre).Append(" (below the threshold ").Append(threshold).AppendLine(").**").AppendLine();
        md.AppendLine("Standard surgical pathway. NCT07282184 offers neoadjuvant therapy only to patients at or above the threshold.").AppendLine();
        return Card(input, lines, CardKind.LowRisk, CardIndicator.Info,
            $"Low recurrence risk (PRE {pre} < {threshold}): standard surgical pathway, NCT07282184 not indicated", md);
    }

    private static CardContent Ineligible(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        var failing = lines.Where(l => l.Status == CriterionStatus.Fail.ToWire()).ToList();
        var md = new StringBuilder();
        md.AppendLine("**Not eligible for NCT07282184.** Criteria not met:").AppendLine();
        foreach (var l in failing)
        {
            md.Append("- **").Append(CardText.EscapeInline(l.Label)).Append("**: ").AppendLine(CardText.EscapeInline(l.Reason));
        }

        md.AppendLine();
        if (input.Pre is { } p)
        {
            md.Append("PRE score ").Append(CardText.Score(p)).Append(" (threshold ").Append(CardText.Score(input.Threshold)).AppendLine(").").AppendLine();
        }

        var noun = failing.Count == 1 ? "criterion" : "criteria";
        return Card(input, lines, CardKind.Ineligible, CardIndicator.Info,
            $"Not eligible for NCT07282184: {failing.Count} {noun} not met ({string.Join(", ", failing.Select(l => l.Label))})", md);
    }

    private static CardContent NeedsData(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        // Only what someone can record is listed; an unknown without a request (the PRE waiting on the MRI) is said apart, once.
        var unknown = lines.Where(l => l.Status == CriterionStatus.Unknown.ToWire() && l.ToRecord is not null).ToList();
        var waiting = lines.Where(l => l.Status == CriterionStatus.Unknown.ToWire() && l.ToRecord is null).ToList();
        var md = new StringBuilder();
        md.AppendLine("**NCT07282184 eligibility cannot be decided yet.** Please record:").AppendLine();
        foreach (var l in unknown)
        {
            md.Append("- **").Append(CardText.EscapeInline(l.Label)).Append("**: ")
              .AppendLine(CardText.EscapeInline(l.ToRecord));
        }

        md.AppendLine();
        foreach (var l in waiting)
        {
            md.Append("**").Append(CardText.EscapeInline(l.Label)).Append("**: ").AppendLine(CardText.EscapeInline(l.Reason)).AppendLine();
        }

        var items = unknown.Count == 1 ? "1 missing item" : $"{unknown.Count} missing items";
        var summary = unknown.Count > 0
            ? $"NCT07282184 eligibility undecided: record {items} ({string.Join(", ", unknown.Select(l => l.Label))})"
            : $"NCT07282184 eligibility undecided: {string.Join(", ", waiting.Select(l => l.Label))} not available";
        return Card(input, lines, CardKind.NeedsData, CardIndicator.Info, summary, md);
    }

    private static CardContent Pending(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        var md = new StringBuilder();
        md.AppendLine("**The PRE recurrence-risk score is being computed** from the pre-operative MRI and clinical data. Open the chart again in a few minutes to see the result.").AppendLine();
        return Card(input, lines, CardKind.Pending, CardIndicator.Info,
            "Recurrence risk (PRE) for NCT07282184 is being computed: open the chart again in a few minutes", md);
    }

    // The record could not be read: never the silent answer, which would mean "nothing to say".
    private static CardContent NotAssessed(CardInput input, IReadOnlyList<CriterionLine> lines)
    {
        var what = string.Join(", ", input.UnreadableData.Select(CardText.DataCategory));
        var md = new StringBuilder();
        md.Append("**NCT07282184 screening was not done:** the patient's ").Append(CardText.EscapeInline(what))
          .AppendLine(" could not be read from the EHR's FHIR server, so it is not known whether the trial applies.").AppendLine();
        md.AppendLine("Open the chart again later; if this persists, tell the team that runs this service.").AppendLine();
        return Card(input, lines, CardKind.NotAssessed, CardIndicator.Warning,
            $"NCT07282184 screening not done: {what} could not be read", md);
    }

    private static CardContent Card(CardInput input, IReadOnlyList<CriterionLine> lines, CardKind kind, CardIndicator indicator, string summary, StringBuilder md,
        bool withCriteria = true)
    {
        if (withCriteria)
        {
            CardDetail.AppendCriteriaTable(md, lines);
            CardDetail.AppendModel(md, input.Model, input.ImputedFeatures);
        }

        return new CardContent
        {
            Kind = kind,
            Uuid = CardUuid(input.HookInstance, kind),
            Summary = CardText.FitSummary(summary),
            Detail = md.ToString().TrimEnd() + "\n",
            Indicator = indicator,
            Source = new CardSource(CardCodes.SourceLabel, input.Model.ModelCardUrl ?? input.Trial.TrialPageUrl, CardCodes.Topic(kind)),
            Links = Links(input),
            Extension = new CdsRiskCardExtension
            {
                Outcome = input.Outcome.ToWire(),
                Card = kind.ToWire(),
                Pre = input.Pre,
                Threshold = input.Threshold,
                Risk = input.Pre is { } p ? (p >= input.Threshold ? "high" : "low") : null,
                Model = input.Model,
                Criteria = lines,
                ImputedFeatures = input.ImputedFeatures,
                RiskAssessment = input.RiskAssessmentReference,
            },
        };
    }

    private static void AppendToBeConfirmed(StringBuilder md, IReadOnlyList<CriterionLine> lines)
    {
        var open = lines.Where(l => l.Status == CriterionStatus.ToBeConfirmed.ToWire()).ToList();
        if (open.Count == 0)
        {
            return;
        }

        md.AppendLine("To be confirmed by the trial team (cannot be read from the record):").AppendLine();
        foreach (var l in open)
        {
            md.Append("- **").Append(CardText.EscapeInline(l.Label)).Append("**: ").AppendLine(CardText.EscapeInline(l.Reason));
        }

        md.AppendLine();
    }

    private static IReadOnlyList<CardLink> Links(CardInput input)
    {
        var links = new List<CardLink> { new("NCT07282184 on ClinicalTrials.gov", input.Trial.TrialPageUrl, LinkType.Absolute) };
        if (input.Trial.SmartAppUrl is { } app)
        {
            var context = input.RiskAssessmentReference is { } ra
                ? JsonSerializer.Serialize(new Dictionary<string, string> { ["riskAssessment"] = ra })
                : null;
            links.Add(new CardLink(input.Trial.SmartAppLabel, app, LinkType.Smart, context));
        }

        return links;
    }

    private static IReadOnlyList<CardSuggestion> EnrolmentSuggestions(CardInput input, CardKind kind) =>
    [
        new CardSuggestion(
            "Refer to the NCT07282184 trial team and record as trial candidate",
            SuggestionUuid(input, kind, "refer-and-candidate"),
            true,
            [
                new CardAction(ActionType.Create, "Referral to the NCT07282184 trial team for enrolment and neoadjuvant therapy before surgery.", TrialResources.Referral(input)),
                new CardAction(ActionType.Create, "Record the patient as a candidate for NCT07282184.", TrialResources.Candidate(input)),
            ]),
        new CardSuggestion(
            "Record as NCT07282184 candidate only",
            SuggestionUuid(input, kind, "candidate-only"),
            false,
            [new CardAction(ActionType.Create, "Record the patient as a candidate for NCT07282184.", TrialResources.Candidate(input))]),
    ];

    private static Guid SuggestionUuid(CardInput input, CardKind kind, string key) =>
        DeterministicUuid.Create($"suggestion|{input.HookInstance}|{kind.ToWire()}|{key}");

    private static IReadOnlyList<CriterionLine> CriterionLines(IReadOnlyList<CriterionResult> criteria)
    {
        var byId = criteria.ToDictionary(c => c.Id, StringComparer.Ordinal);
        return CriterionIds.All.Select(id => byId.TryGetValue(id, out var c)
                ? new CriterionLine(id, CardCodes.CriterionLabel(id), c.Status.ToWire(), c.Reason, c.Evidence, c.ToRecord)
                : new CriterionLine(id, CardCodes.CriterionLabel(id), "not-evaluated", "Not evaluated in this call.", [], null))
            .ToList();
    }

    private static void Validate(CardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Hook is not (PatientView or OrderSelect))
        {
            throw new CardInputException($"Hook: expected \"{PatientView}\" or \"{OrderSelect}\", got \"{input.Hook}\".");
        }

        Require(input.HookInstance, nameof(input.HookInstance));
        Require(input.PatientReference, nameof(input.PatientReference));
        ValidateModel(input.Model);
        if (input.Criteria is null)
        {
            throw new CardInputException("Criteria: required.");
        }

        var known = CriterionIds.All.ToHashSet(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in input.Criteria)
        {
            if (c is null || !known.Contains(c.Id))
            {
                throw new CardInputException($"Criteria: \"{c?.Id}\" is not one of the 17 criterion ids.");
            }

            if (!seen.Add(c.Id))
            {
                throw new CardInputException($"Criteria: \"{c.Id}\" appears twice.");
            }
        }

        if (!(input.Threshold > 0 && input.Threshold < 1))
        {
            throw new CardInputException($"Threshold: must lie strictly between 0 and 1, got {input.Threshold}.");
        }

        if (input.Pre is { } pre && !(pre >= 0 && pre <= 1))
        {
            throw new CardInputException($"Pre: must lie in [0, 1], got {pre}.");
        }

        switch (input.Outcome)
        {
            case EligibilityOutcome.Eligible when input.Pre is not { } p || p < input.Threshold:
                throw new CardInputException("Outcome eligible needs a PRE score at or above the threshold.");
            case EligibilityOutcome.Eligible when input.Criteria.Any(c => c.Status is CriterionStatus.Fail or CriterionStatus.Unknown or CriterionStatus.Pending):
                throw new CardInputException("Outcome eligible contradicts a failing, unknown or pending criterion.");
            case EligibilityOutcome.LowRisk when input.Pre is not { } p || p >= input.Threshold:
                throw new CardInputException("Outcome low-risk needs a PRE score below the threshold.");
            case EligibilityOutcome.Ineligible when !input.Criteria.Any(c => c.Status == CriterionStatus.Fail):
                throw new CardInputException("Outcome ineligible needs at least one failing criterion.");
            case EligibilityOutcome.NeedsData when !input.Criteria.Any(c => c.Status == CriterionStatus.Unknown):
                throw new CardInputException("Outcome needs-data needs at least one unknown criterion.");
            case EligibilityOutcome.NotAssessed when input.UnreadableData.Count == 0:
                throw new CardInputException("Outcome not-assessed needs the data that could not be read (UnreadableData).");
        }

        foreach (var o in input.Orders?.HypersensitiveOrders ?? [])
        {
            Require(o.OrderReference, "Orders.HypersensitiveOrders.OrderReference");
            Require(o.Drug, "Orders.HypersensitiveOrders.Drug");
        }

        RequireAbsoluteUrl(input.Trial.TrialPageUrl, "Trial.TrialPageUrl");
        if (input.Trial.SmartAppUrl is { } smart)
        {
            RequireAbsoluteUrl(smart, "Trial.SmartAppUrl");
        }
    }

    internal static void ValidateModel(ModelIdentity? model)
    {
        if (ModelProblem(model) is { } problem)
        {
            throw new CardInputException(problem);
        }
    }

    /// <summary>What is wrong with a model identity, or null when it is complete.</summary>
    internal static string? ModelProblem(ModelIdentity? model)
    {
        if (model is null)
        {
            return "Model: required.";
        }

        if (string.IsNullOrWhiteSpace(model.Id))
        {
            return "Model.Id: required.";
        }

        if (string.IsNullOrWhiteSpace(model.Version))
        {
            return "Model.Version: required.";
        }

        if (model.Sha256 is null || model.Sha256.Length != 64 || !model.Sha256.All(char.IsAsciiHexDigitLower))
        {
            return "Model.Sha256: expected 64 lower-case hex digits.";
        }

        if (model.ModelCardUrl is { } url && !IsHttpUrl(url))
        {
            return "Model.ModelCardUrl: expected an absolute http(s) URL.";
        }

        return null;
    }

    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp);

    private static void Require(string? value, string name)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new CardInputException($"{name}: required.");
        }
    }

    private static void RequireAbsoluteUrl(string? value, string name)
    {
        if (!IsHttpUrl(value))
        {
            throw new CardInputException($"{name}: expected an absolute http(s) URL.");
        }
    }
}
