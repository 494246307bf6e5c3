using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using CdsRisk.Core.WriteBack;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using Microsoft.Extensions.Options;
using WireAction = CdsRisk.Api.Hooks.Action;
using WireCoding = CdsRisk.Api.Hooks.Coding;

namespace CdsRisk.Api.Pipeline;

/// <summary>
/// Builds the hook's answer: the cards of <see cref="CardBuilder"/> mapped once onto the wire records (the one wire model, serialized
/// with <see cref="CdsHooksJson"/>'s options), and the RiskAssessment as system actions when configured.
/// </summary>
public sealed class HookCards(
    PreScorer scorer,
    OrderSelectChecks orderChecks,
    IOptions<PipelineOptions> options,
    IOptions<WriteBackOptions> writeBackOptions)
{
    private static readonly FhirJsonSerializer FhirJson = new();

    /// <summary>The answer that means "nothing to say" (CDS Hooks 2.0 §CDS Service Response: the one empty array that is written).</summary>
    public static CdsServiceResponse Silent => new() { Cards = [] };

    /// <summary>
    /// Whether an order-select or order-sign call is about the trial: one of its orders (the selections; for order-sign every draft
    /// order) is a liver resection or a drug of the regimen's classes. Otherwise the answer is <see cref="Silent"/> (issue 15 item 1):
    /// a medication screen's empty draft order, an imaging order, any unrelated order. Other hooks are always about the patient.
    /// </summary>
    public bool ConcernsTheTrial(HookInvocation invocation, PatientRecord record) =>
        !CardBuilder.IsOrderHook(invocation.Hook)
        || OrderSelectChecks.OrdersOfTheCall(record, AllDraftOrders(invocation)).Any(orderChecks.ConcernsTheTrial);

    /// <summary>
    /// The answer for one evaluation. <paramref name="writeBack"/> is this hook's RiskAssessment write-back: the cards link the
    /// RiskAssessment only once it is written to this hook's own FHIR server, for this patient.
    /// </summary>
    public CdsServiceResponse Build(HookInvocation invocation, PatientRecord record, RiskEvaluation evaluation, QueuedWriteBack? writeBack)
    {
        if (!evaluation.IsApplicable)
        {
            // Outside the trial's population (no liver cancer on record): nothing to say is {"cards":[]}.
            return Silent;
        }

        var input = Input(invocation, record, evaluation, writeBack);
        if (input.FollowUp is { } followUp)
        {
            // On study (issue 17): the follow-up cards replace screening; nothing is written back.
            return new CdsServiceResponse { Cards = FollowUpCards(input, followUp) };
        }

        return new CdsServiceResponse { Cards = Cards(input), SystemActions = SystemActions(evaluation, writeBack) };
    }

    /// <summary>What the card builder needs from this call and its evaluation.</summary>
    public CardInput Input(HookInvocation invocation, PatientRecord record, RiskEvaluation evaluation, QueuedWriteBack? writeBack)
    {
        var card = scorer.Card;
        var model = evaluation.Model is { } m
            ? new ModelIdentity(m.Id, m.Version, m.Sha256, m.Sha256 == card.Sha256 && card.NotForClinicalUse, options.Value.ModelCardUrl)
            : new ModelIdentity(card.Id, card.Version, card.Sha256, card.NotForClinicalUse, options.Value.ModelCardUrl);
        return new CardInput
        {
            Hook = invocation.Hook,
            HookInstance = invocation.HookInstance.ToString("D"),
            Outcome = evaluation.Outcome,
            Criteria = evaluation.Criteria,
            Pre = evaluation.PreScore,
            Threshold = evaluation.Threshold,
            Model = model,
            PatientReference = "Patient/" + invocation.PatientId,
            EncounterReference = invocation.EncounterId is { Length: > 0 } e ? "Encounter/" + e : null,
            UserReference = invocation.UserId,
            Orders = CardBuilder.IsOrderHook(invocation.Hook) ? Orders(invocation, record) : null,
            Trial = new TrialLinks { TrialPageUrl = options.Value.TrialPageUrl, SmartAppUrl = options.Value.SmartAppUrl },
            RiskAssessmentReference = writeBack?.Location,
            ImputedFeatures = evaluation.Scoring?.Outcome?.ImputedFeatures ?? [],
            UnreadableData = evaluation.NotAssessedBecause,
            ProtocolVersion = evaluation.Eligibility?.ProtocolVersion,
            FollowUp = evaluation.FollowUp,
        };
    }

    /// <summary>The cards for one input, as they go on the wire: built by <see cref="CardBuilder"/>, mapped once by <see cref="ToWire"/>.</summary>
    public static IReadOnlyList<Card> Cards(CardInput input) => [.. CardBuilder.Build(input).Select(c => ToWire(c, input))];

    /// <summary>The cards of an on-study patient (issue 17), as they go on the wire.</summary>
    public static IReadOnlyList<Card> FollowUpCards(CardInput input, CdsRisk.Core.FollowUp.FollowUpResult followUp) =>
        [.. CardBuilder.BuildFollowUp(input with { FollowUp = followUp }, followUp).Select(c => ToWire(c, input with { FollowUp = followUp }))];

    private OrderSelection Orders(HookInvocation invocation, PatientRecord record)
    {
        var orders = OrderSelectChecks.OrdersOfTheCall(record, AllDraftOrders(invocation));
        var resection = orders.FirstOrDefault(orderChecks.IsLiverResection);
        var conflicts = orders.OfType<MedicationRequest>()
            .Select(order => orderChecks.RegimenHypersensitivity(order, record))
            .Where(c => c is not null)
            .Select(c => new HypersensitiveOrder(c!.OrderReference, c.OrderedDrug, c.AllergyReference, c.AllergySubstance, c.RelationText))
            .ToList();
        return new OrderSelection
        {
            LiverResectionSelected = resection is not null,
            LiverResectionOrderReference = resection is null ? null : resection.TypeName + "/" + resection.Id,
            LiverResectionOrderDisplay = resection is null ? null : OrderSelectChecks.Display(resection),
            HypersensitiveOrders = conflicts,
        };
    }

    private static bool AllDraftOrders(HookInvocation invocation) => invocation.Hook == CardBuilder.OrderSign;

    /// <summary>CDS Hooks 2.0 §systemActions: the Device, RiskAssessment and Provenance as creates, for EHRs that write them themselves.</summary>
    private IReadOnlyList<WireAction>? SystemActions(RiskEvaluation evaluation, QueuedWriteBack? writeBack)
    {
        if (!writeBackOptions.Value.ReturnsSystemActions || writeBack is null || evaluation.Scoring?.Outcome is not { } score
            || writeBack.Order.ToAssessment(score) is not { } assessment)
        {
            return null;
        }

        return [.. WriteBackBundle.Writes(assessment).Select(w => new WireAction
        {
            Type = ActionType.Create,
            Description = $"Record the {w.Resource.TypeName} of this PRE assessment",
            Resource = ToJson(w.Resource),
        })];
    }

    /// <summary>The one mapping from a card to its wire record; the <c>cdsrisk</c> extension comes from the same input.</summary>
    private static Card ToWire(CardContent c, CardInput input) => new()
    {
        Uuid = c.Uuid.ToString("D"),
        Summary = c.Summary,
        Detail = c.Detail,
        Indicator = c.Indicator,
        Source = new Source
        {
            Label = c.Source.Label,
            Url = c.Source.Url,
            Topic = c.Source.Topic is { } t ? Coding(t) : null,
        },
        Suggestions = [.. c.Suggestions.Select(s => new Suggestion
        {
            Label = s.Label,
            Uuid = s.Uuid.ToString("D"),
            IsRecommended = s.IsRecommended,
            Actions = [.. s.Actions.Select(a => new WireAction
            {
                Type = a.Type,
                Description = a.Description,
                Resource = a.Resource is null ? null : ToJson(a.Resource),
                ResourceId = a.ResourceId,
            })],
        })],
        SelectionBehavior = c.SelectionBehavior,
        OverrideReasons = [.. c.OverrideReasons.Select(Coding)],
        Links = [.. c.Links.Select(l => new Link { Label = l.Label, Url = l.Url, Type = l.Type, AppContext = l.AppContext })],
        Extension = new CardExtension
        {
            CdsRisk = new CdsRiskCardExtension
            {
                Outcome = input.Outcome,
                Card = c.Kind,
                PreScore = input.Pre,
                Model = input.Pre is null ? null : ModelReference.From(input.Model),
                Threshold = input.Threshold,
                Risk = input.Pre is { } p ? (p >= input.Threshold ? "high" : "low") : null,
                ImputedFeatures = input.ImputedFeatures,
                RiskAssessment = input.RiskAssessmentReference,
                ProtocolVersion = input.ProtocolVersion,
                Criteria = CriterionEntry.ById(input.Criteria),
                FollowUp = input.FollowUp is { } f ? FollowUpEntry.From(f) : null,
            },
        },
    };

    private static WireCoding Coding(CardCoding c) => new() { System = c.System, Code = c.Code, Display = c.Display };

    // Written once as UTF-8 and read back as a value that owns its bytes (no string, no pooled document to clone).
    private static JsonElement ToJson(Resource resource)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            FhirJson.Serialize(resource, writer);
        }

        var reader = new Utf8JsonReader(buffer.WrittenSpan);
        return JsonElement.ParseValue(ref reader);
    }
}
