using System.Text;
using System.Text.Json;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Core.Cards;

/// <summary>Thrown when a <see cref="CardInput"/> is incomplete or contradicts itself; the message names the field.</summary>
public sealed class CardInputException(string message) : ArgumentException(message);

/// <summary>
/// Turns one evaluation into the cards the clinician sees. Pure: same input, same cards.
/// The cards screen and refer; they never tell anyone to start, give, delay or withhold a treatment or an operation (issue 14
/// section 1). They are short (section 5): the decision, the criteria that decide it, what to do next, and the actions; every
/// criterion with its evidence travels in the <c>cdsrisk</c> extension and behind the SMART link, not in the Markdown.
/// </summary>
public static partial class CardBuilder
{
    public const string PatientView = HookNames.PatientView;
    public const string OrderSelect = HookNames.OrderSelect;
    public const string OrderSign = HookNames.OrderSign;

    /// <summary>How many criteria a card names one by one; the rest are named in one line.</summary>
    public const int MaxListed = 3;

    /// <summary>order-select and order-sign: the hooks that carry draft orders.</summary>
    public static bool IsOrderHook(string hook) => hook is OrderSelect or OrderSign;

    /// <summary>The card's uuid: the same hook instance and card kind always give the same uuid, so feedback on a retried call matches.</summary>
    public static Guid CardUuid(string hookInstance, CardKind kind) => DeterministicUuid.Create($"card|{hookInstance}|{kind.ToWire()}");

    public static IReadOnlyList<CardContent> Build(CardInput input)
    {
        Validate(input);
        var cards = new List<CardContent>();

        var orders = IsOrderHook(input.Hook) ? input.Orders : null;
        if (orders is { HypersensitiveOrders.Count: > 0 })
        {
            cards.Add(Hypersensitivity(input, orders.HypersensitiveOrders));
        }

        if (input.Outcome == EligibilityOutcome.Eligible && orders is { LiverResectionSelected: true })
        {
            cards.Add(ResectionOrdered(input, orders));
        }
        else
        {
            cards.Add(input.Outcome switch
            {
                EligibilityOutcome.Eligible => Eligible(input),
                EligibilityOutcome.LowRisk => LowRisk(input),
                EligibilityOutcome.Ineligible => Ineligible(input),
                EligibilityOutcome.NeedsData => NeedsData(input),
                EligibilityOutcome.Pending => Pending(input),
                EligibilityOutcome.NotAssessed => NotAssessed(input),
                _ => throw new CardInputException($"Outcome: unknown value {input.Outcome}."),
            });
        }

        return cards;
    }

    private static CardContent Eligible(CardInput input)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var md = new StringBuilder();
        md.Append("**Potential candidate for NCT07282184.** ");
        AppendHighRisk(md, input);
        md.AppendLine(" Every criterion the record can decide is met.").AppendLine();
        AppendLiverFunction(md, input.Criteria);
        md.AppendLine("**Next:** refer the patient to the trial team for screening.").AppendLine();
        AppendToConfirm(md, input.Criteria);
        CardDetail.AppendModel(md, input.Model, input.ImputedFeatures);
        return Card(input, CardKind.Eligible, CardIndicator.Warning,
            Summary($"Potential candidate for NCT07282184 (PRE {pre}): refer to the trial team for screening", input, model: true), md) with
        {
            Suggestions = ReferralSuggestions(input, CardKind.Eligible),
            SelectionBehavior = SelectionBehavior.AtMostOne,
            OverrideReasons = CardCodes.OverrideReasons,
        };
    }

    // The trial enrols patients "scheduled to undergo curative-intent resection": a hepatectomy order for a potential candidate is
    // the moment to refer for screening, never a reason to hold the order (issue 14 section 1). The card says nothing of the order.
    private static CardContent ResectionOrdered(CardInput input, OrderSelection orders)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var md = new StringBuilder();
        md.Append("**Potential candidate for NCT07282184, with a liver resection being ordered**");
        if (orders.LiverResectionOrderDisplay is { } display)
        {
            md.Append(" — ").Append(CardText.EscapeInline(display));
        }

        md.Append(". ");
        AppendHighRisk(md, input);
        md.AppendLine(" Every criterion the record can decide is met.").AppendLine();
        AppendLiverFunction(md, input.Criteria);
        md.AppendLine("**Next:** the trial enrols patients planned for curative-intent resection, so this order is the moment to refer the patient to the trial team for screening. This card concerns trial screening only, not the order.").AppendLine();
        AppendToConfirm(md, input.Criteria);
        CardDetail.AppendModel(md, input.Model, input.ImputedFeatures);
        return Card(input, CardKind.ResectionOrdered, CardIndicator.Warning,
            Summary($"Potential NCT07282184 candidate (PRE {pre}), resection ordered: refer for trial screening", input, model: true), md) with
        {
            Suggestions = ReferralSuggestions(input, CardKind.ResectionOrdered),
            SelectionBehavior = SelectionBehavior.AtMostOne,
            OverrideReasons = CardCodes.OverrideReasons,
        };
    }

    // A drug-safety alert: it names the ordered drug, the recorded allergen and how they relate (issue 14 section 2). It carries no
    // criteria and no model, since neither the trial nor the PRE decide it, and no action on the order: the prescriber decides.
    private static CardContent Hypersensitivity(CardInput input, IReadOnlyList<HypersensitiveOrder> orders)
    {
        var md = new StringBuilder();
        md.AppendLine(orders.Count == 1
            ? "**An ordered drug is related to a recorded hypersensitivity.**"
            : "**Ordered drugs are related to recorded hypersensitivities.**").AppendLine();
        foreach (var o in orders)
        {
            md.Append("- **").Append(CardText.EscapeInline(o.Drug)).Append("** ordered");
            if (o.Allergen is { } allergen)
            {
                md.Append("; hypersensitivity recorded to **").Append(CardText.EscapeInline(allergen)).Append("**");
            }

            if (o.Relation is { } relation)
            {
                md.Append(": ").Append(CardText.EscapeInline(relation));
            }

            md.AppendLine();
        }

        md.AppendLine().AppendLine("Review the order against the recorded hypersensitivity.");
        var first = orders[0];
        var summary = first.Allergen is { } a && first.Relation is { } r
            ? $"Hypersensitivity recorded to {a}; {first.Drug} ordered: {ShortRelation(r)}"
            : $"Hypersensitivity recorded to {first.Drug}: review the order";
        return Card(input, CardKind.RegimenHypersensitivity, CardIndicator.Critical, CardText.FitSummary(summary), md, smartLink: false) with
        {
            OverrideReasons = [.. CardCodes.OverrideReasons.Where(r => r.Code is "clinical-judgement" or "data-incorrect")],
        };
    }

    private static string ShortRelation(string relation) => relation.Split(" (", 2)[0];

    private static CardContent LowRisk(CardInput input)
    {
        var pre = CardText.Score(input.Pre!.Value);
        var threshold = CardText.Score(input.Threshold);
        var md = new StringBuilder();
        md.Append("**Not a candidate for NCT07282184:** PRE ").Append(pre).Append(", below the trial's threshold ").Append(threshold)
          .AppendLine(" (the PRE estimates the risk of a first recurrence beyond the Milan criteria within 2 years of resection).").AppendLine();
        CardDetail.AppendModel(md, input.Model, input.ImputedFeatures);
        return Card(input, CardKind.LowRisk, CardIndicator.Info,
            Summary($"Not a candidate for NCT07282184: PRE {pre} below the trial's threshold {threshold}", input, model: true), md);
    }

    private static CardContent Ineligible(CardInput input)
    {
        var failing = input.Criteria.Where(c => c.Status == CriterionStatus.Fail).OrderBy(Rank).ToList();
        var md = new StringBuilder();
        md.AppendLine("**Not eligible for NCT07282184.** Not met:"); // a list may follow a paragraph line (CommonMark 0.31 §5.2)
        AppendReasons(md, failing, "Also not met");
        var nouns = string.Join(", ", failing.Select(c => CardCodes.CriterionNoun(c.Id)).Distinct());
        return Card(input, CardKind.Ineligible, CardIndicator.Info, CardText.FitSummary($"Not eligible for NCT07282184 (not met: {nouns})"), md);
    }

    private static CardContent NeedsData(CardInput input)
    {
        // One item per thing to record (two criteria asking for the same thing are one item); the PRE is never an item (issue 14
        // section 4): its key inputs are, by name, and a PRE waiting on the MRI is said apart, once.
        var unknown = input.Criteria.Where(c => c.Status == CriterionStatus.Unknown).OrderBy(Rank).ToList();
        var items = unknown.Where(c => c.ToRecord is not null)
            .GroupBy(c => c.ToRecord!, StringComparer.Ordinal)
            .Select(g => (Request: g.Key, Noun: g.First().Id == CriterionIds.PreScore ? "model inputs" : CardCodes.CriterionNoun(g.First().Id)))
            .ToList();
        var waiting = unknown.Where(c => c.ToRecord is null).ToList();
        var checking = input.Criteria.Where(c => c.Status == CriterionStatus.Pending).ToList();

        var md = new StringBuilder();
        md.AppendLine("**NCT07282184 screening cannot be decided yet.**" + (items.Count > 0 ? " To record:" : string.Empty));
        var listed = Listed(items.Count);
        foreach (var item in items.Take(listed))
        {
            md.Append("- ").AppendLine(CardText.EscapeInline(item.Request));
        }

        if (items.Count > listed)
        {
            md.AppendLine().Append("Also to record: ").Append(string.Join(", ", items.Skip(listed).Select(i => i.Noun))).AppendLine(".");
        }

        md.AppendLine();
        foreach (var c in waiting)
        {
            md.Append("**").Append(CardText.EscapeInline(CardCodes.CriterionNoun(c.Id))).Append("**: ").AppendLine(CardText.EscapeInline(c.Reason)).AppendLine();
        }

        if (checking.Count > 0)
        {
            md.Append("Still being checked by the service: ").Append(string.Join(", ", checking.Select(c => CardCodes.CriterionNoun(c.Id)))).AppendLine(".").AppendLine();
        }

        var summary = items.Count > 0
            ? $"NCT07282184 screening undecided: record {string.Join(", ", items.Select(i => i.Noun).Distinct())}"
            : $"NCT07282184 screening undecided: {string.Join(", ", waiting.Select(c => CardCodes.CriterionNoun(c.Id)))} not available";
        return Card(input, CardKind.NeedsData, CardIndicator.Info, CardText.FitSummary(summary), md);
    }

    private static CardContent Pending(CardInput input)
    {
        var md = new StringBuilder();
        md.AppendLine("**NCT07282184 screening in progress.** The pre-operative MRI is being read and the PRE computed; every other criterion the record can decide is met so far. Open the chart again in a few minutes.");
        return Card(input, CardKind.Pending, CardIndicator.Info,
            CardText.FitSummary("NCT07282184 screening in progress: the MRI is being read; open the chart again in a few minutes"), md);
    }

    // The record could not be read: never the silent answer, which would mean "nothing to say".
    private static CardContent NotAssessed(CardInput input)
    {
        var what = string.Join(", ", input.UnreadableData.Select(CardText.DataCategory));
        var md = new StringBuilder();
        md.Append("**NCT07282184 screening was not done:** the patient's ").Append(CardText.EscapeInline(what))
          .AppendLine(" could not be read from the EHR's FHIR server, so it is not known whether the trial applies.").AppendLine();
        md.AppendLine("Open the chart again later; if this persists, tell the team that runs this service.");
        return Card(input, CardKind.NotAssessed, CardIndicator.Warning, CardText.FitSummary($"NCT07282184 screening not done: {what} could not be read"), md,
            smartLink: false);
    }

    private static CardContent Card(CardInput input, CardKind kind, CardIndicator indicator, string summary, StringBuilder md, bool smartLink = true) => new()
    {
        Kind = kind,
        Uuid = CardUuid(input.HookInstance, kind),
        Summary = summary,
        Detail = md.ToString().TrimEnd() + "\n",
        Indicator = indicator,
        Source = new CardSource(CardCodes.Source(input.Model.IsReferenceModel), input.Model.ModelCardUrl ?? input.Trial.TrialPageUrl, CardCodes.Topic(kind)),
        Links = Links(input, smartLink),
    };

    /// <summary>
    /// A summary under the 140-character limit; for a card that rests on the model's score, the reference-model warning is appended
    /// and never cut (the text before it is shortened instead).
    /// </summary>
    private static string Summary(string text, CardInput input, bool model) =>
        model && input.Model.IsReferenceModel
            ? CardText.FitSummary(text, CardText.MaxSummaryLength - CardCodes.ReferenceModelTag.Length - 1) + " " + CardCodes.ReferenceModelTag
            : CardText.FitSummary(text);

    private static void AppendHighRisk(StringBuilder md, CardInput input) =>
        md.Append("PRE ").Append(CardText.Score(input.Pre!.Value)).Append(", at or above the trial's threshold ").Append(CardText.Score(input.Threshold))
          .Append(": high risk of aggressive recurrence (a first recurrence beyond the Milan criteria within 2 years of resection).");

    /// <summary>
    /// Child-Pugh with ALBI beside it, as the criterion reads it (issue 14 section 4): the liver function a surgeon weighs, and where a
    /// score of 7 is said to be B7, admitted by the protocol's stated limit (clinical.md, inconsistency 1).
    /// </summary>
    private static void AppendLiverFunction(StringBuilder md, IReadOnlyList<CriterionResult> criteria)
    {
        if (criteria.FirstOrDefault(c => c.Id == CriterionIds.ChildPugh) is { Status: CriterionStatus.Pass } childPugh)
        {
            md.Append("Liver function: ").Append(CardText.EscapeInline(CardText.Shorten(childPugh.Reason))).AppendLine(".").AppendLine();
        }
    }

    /// <summary>Up to <see cref="MaxListed"/> criteria with their reason, one line each; the others by name on one line.</summary>
    private static void AppendReasons(StringBuilder md, IReadOnlyList<CriterionResult> criteria, string more)
    {
        var listed = Listed(criteria.Count);
        foreach (var c in criteria.Take(listed))
        {
            md.Append("- **").Append(CardText.EscapeInline(CardCodes.CriterionLabel(c.Id))).Append("**: ").AppendLine(CardText.EscapeInline(CardText.Shorten(c.Reason)));
        }

        if (criteria.Count > listed)
        {
            md.AppendLine().Append(more).Append(": ").Append(string.Join(", ", criteria.Skip(listed).Select(c => CardCodes.CriterionNoun(c.Id)))).AppendLine(".");
        }

        md.AppendLine();
    }

    /// <summary>How many of <paramref name="count"/> items are listed one by one: all when one more would only be named.</summary>
    private static int Listed(int count) => count <= MaxListed + 1 ? count : MaxListed;

    /// <summary>
    /// What is left to confirm for a potential candidate: the doubts the record raised (each with what to confirm), then in one line
    /// what the trial team always confirms and what only surgery tells.
    /// </summary>
    private static void AppendToConfirm(StringBuilder md, IReadOnlyList<CriterionResult> criteria)
    {
        var open = criteria.Where(c => c.Status == CriterionStatus.ToBeConfirmed).ToList();
        var routine = open.Where(IsRoutineConfirmation).ToList();
        var doubts = open.Except(routine).OrderBy(Rank).Select(c => c with { Reason = Doubt(c.Reason) }).ToList();
        if (doubts.Count > 0)
        {
            md.AppendLine("To confirm:");
            AppendReasons(md, doubts, "Also to confirm");
        }

        var team = routine.Where(c => c.Id is not (CriterionIds.NonHccPathology or CriterionIds.EarlyDeathOrLoss)).Select(c => CardCodes.CriterionNoun(c.Id)).ToList();
        var later = routine.Where(c => c.Id is CriterionIds.NonHccPathology or CriterionIds.EarlyDeathOrLoss).Select(c => CardCodes.CriterionNoun(c.Id)).ToList();
        List<string> lines = [];
        if (team.Count > 0)
        {
            lines.Add($"Confirmed by the trial team: {string.Join(", ", team)}.");
        }

        if (later.Count > 0)
        {
            lines.Add($"Known only after surgery: {string.Join(", ", later)}.");
        }

        if (lines.Count > 0)
        {
            md.AppendLine(string.Join(' ', lines)).AppendLine();
        }
    }

    private static readonly HashSet<string> PersonOnly = new(
        [CriterionIds.Consent, CriterionIds.FollowUp, CriterionIds.NonHccPathology, CriterionIds.EarlyDeathOrLoss, CriterionIds.InvestigatorJudgement],
        StringComparer.Ordinal);

    /// <summary>A criterion only a person or the future decides, with nothing on record that raises a doubt about it.</summary>
    private static bool IsRoutineConfirmation(CriterionResult c) => PersonOnly.Contains(c.Id) && c.Evidence.Count == 0;

    /// <summary>The part of a to-be-confirmed reason that says what to confirm ("…; to confirm: X" → "X"), or the whole reason.</summary>
    internal static string Doubt(string reason)
    {
        var at = reason.LastIndexOf("to confirm", StringComparison.OrdinalIgnoreCase);
        var colon = at < 0 ? -1 : reason.IndexOf(": ", at, StringComparison.Ordinal);
        return colon < 0 || colon + 2 >= reason.Length ? reason : reason[(colon + 2)..];
    }

    /// <summary>Criteria in the protocol's order (inclusion first), which is also the order a clinician reads them in.</summary>
    private static int Rank(CriterionResult c)
    {
        for (var i = 0; i < CriterionIds.All.Count; i++)
        {
            if (CriterionIds.All[i] == c.Id)
            {
                return i;
            }
        }

        return int.MaxValue;
    }

    private static IReadOnlyList<CardLink> Links(CardInput input, bool smartLink)
    {
        var links = new List<CardLink>();
        if (smartLink && input.Trial.SmartAppUrl is { } app)
        {
            // The SMART app reads the assessment by its id, the hook instance (= the audit record's id).
            var context = JsonSerializer.Serialize(new Dictionary<string, string> { ["assessment"] = input.HookInstance });
            links.Add(new CardLink(input.Trial.SmartAppLabel, app, LinkType.Smart, context));
        }

        links.Add(new CardLink("NCT07282184 on ClinicalTrials.gov", input.Trial.TrialPageUrl, LinkType.Absolute));
        return links;
    }

    private static IReadOnlyList<CardSuggestion> ReferralSuggestions(CardInput input, CardKind kind) =>
    [
        new CardSuggestion(
            "Refer to the NCT07282184 trial team for screening",
            SuggestionUuid(input, kind, "refer-and-candidate"),
            true,
            [
                new CardAction(ActionType.Create, "Referral to the NCT07282184 trial team for trial screening.", TrialResources.Referral(input)),
                new CardAction(ActionType.Create, "Record the patient as a potential candidate for NCT07282184.", TrialResources.Candidate(input)),
            ]),
        new CardSuggestion(
            "Record as a potential NCT07282184 candidate only",
            SuggestionUuid(input, kind, "candidate-only"),
            false,
            [new CardAction(ActionType.Create, "Record the patient as a potential candidate for NCT07282184.", TrialResources.Candidate(input))]),
    ];

    private static Guid SuggestionUuid(CardInput input, CardKind kind, string key) =>
        DeterministicUuid.Create($"suggestion|{input.HookInstance}|{kind.ToWire()}|{key}");

    private static void Validate(CardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Hook is not (PatientView or OrderSelect or OrderSign))
        {
            throw new CardInputException($"Hook: expected \"{PatientView}\", \"{OrderSelect}\" or \"{OrderSign}\", got \"{input.Hook}\".");
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
