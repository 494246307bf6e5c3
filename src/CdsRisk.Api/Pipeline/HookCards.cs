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
using CoreCards = CdsRisk.Core.Cards;
using WireAction = CdsRisk.Api.Hooks.Action;

namespace CdsRisk.Api.Pipeline;

/// <summary>Builds the hook's answer: the cards of <see cref="CoreCards.CardBuilder"/> on the wire, and the RiskAssessment as system actions when configured.</summary>
public sealed class HookCards(
    PreScorer scorer,
    OrderSelectChecks orderChecks,
    IOptions<PipelineOptions> options,
    IOptions<WriteBackOptions> writeBackOptions)
{
    private static readonly FhirJsonSerializer FhirJson = new();

    /// <summary>
    /// The answer for one evaluation. <paramref name="writeBack"/> is this hook's RiskAssessment write-back: the cards link the
    /// RiskAssessment only once it is written to this hook's own FHIR server, for this patient.
    /// </summary>
    public CdsServiceResponse Build(HookInvocation invocation, PatientRecord record, RiskEvaluation evaluation, QueuedWriteBack? writeBack)
    {
        if (!evaluation.IsApplicable)
        {
            // Outside the trial's population (no liver cancer on record): nothing to say is {"cards":[]}.
            return new CdsServiceResponse { Cards = [] };
        }

        var card = scorer.Card;
        var model = evaluation.Model is { } m
            ? new ModelIdentity(m.Id, m.Version, m.Sha256, m.Sha256 == card.Sha256 && card.NotForClinicalUse, options.Value.ModelCardUrl)
            : new ModelIdentity(card.Id, card.Version, card.Sha256, card.NotForClinicalUse, options.Value.ModelCardUrl);
        var score = evaluation.Scoring;
        var input = new CardInput
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
            Orders = invocation.Hook == CoreCards.CardBuilder.OrderSelect ? Orders(record) : null,
            Trial = new TrialLinks { TrialPageUrl = options.Value.TrialPageUrl, SmartAppUrl = options.Value.SmartAppUrl },
            RiskAssessmentReference = writeBack?.Location,
            ImputedFeatures = score?.Outcome?.ImputedFeatures ?? [],
            UnreadableData = evaluation.NotAssessedBecause,
        };

        if (evaluation.FollowUp is { } followUp)
        {
            // On study (issue 17): the follow-up cards replace screening; nothing is written back.
            return new CdsServiceResponse { Cards = [.. CoreCards.CardBuilder.BuildFollowUp(input, followUp).Select(c => ToWire(c, evaluation, model))] };
        }

        var cards = CoreCards.CardBuilder.Build(input).Select(c => ToWire(c, evaluation, model)).ToList();
        return new CdsServiceResponse { Cards = cards, SystemActions = SystemActions(evaluation, writeBack) };
    }

    private OrderSelection Orders(PatientRecord record)
    {
        var selected = OrderSelectChecks.SelectedDraftOrders(record);
        var resection = selected.FirstOrDefault(orderChecks.IsLiverResection);
        var conflicts = selected.OfType<MedicationRequest>()
            .Select(order => orderChecks.RegimenHypersensitivity(order, record))
            .Where(c => c is not null)
            .Select(c => new HypersensitiveOrder(c!.OrderReference, c.OrderedDrug, c.AllergyReference, c.AllergySubstance, c.RelationText))
            .ToList();
        return new OrderSelection
        {
            LiverResectionSelected = resection is not null,
            LiverResectionOrderReference = resection is null ? null : resection.TypeName + "/" + resection.Id,
            HypersensitiveOrders = conflicts,
        };
    }

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
            Type = "create",
            Description = $"Record the {w.Resource.TypeName} of this PRE assessment",
            Resource = ToJson(w.Resource),
        })];
    }

    private static Card ToWire(CardContent c, RiskEvaluation evaluation, ModelIdentity model) => new()
    {
        Uuid = c.Uuid.ToString("D"),
        Summary = c.Summary,
        Detail = c.Detail,
        Indicator = c.Indicator.ToString().ToLowerInvariant(),
        Source = new Source
        {
            Label = c.Source.Label,
            Url = c.Source.Url,
            Topic = c.Source.Topic is { } t ? new Hooks.Coding { System = t.System, Code = t.Code, Display = t.Display } : null,
        },
        Suggestions = c.Suggestions.Count == 0 ? null : [.. c.Suggestions.Select(s => new Suggestion
        {
            Label = s.Label,
            Uuid = s.Uuid.ToString("D"),
            IsRecommended = s.IsRecommended,
            Actions = [.. s.Actions.Select(a => new WireAction
            {
                Type = a.Type.ToString().ToLowerInvariant(),
                Description = a.Description,
                Resource = a.Resource is null ? null : ToJson(a.Resource),
                ResourceId = a.ResourceId,
            })],
        })],
        SelectionBehavior = c.SelectionBehavior switch
        {
            CoreCards.SelectionBehavior.AtMostOne => "at-most-one",
            CoreCards.SelectionBehavior.Any => "any",
            _ => null,
        },
        OverrideReasons = c.OverrideReasons.Count == 0 ? null : [.. c.OverrideReasons.Select(o => new Hooks.Coding { System = o.System, Code = o.Code, Display = o.Display })],
        Links = c.Links.Count == 0 ? null : [.. c.Links.Select(l => new Link
        {
            Label = l.Label,
            Url = l.Url,
            Type = l.Type.ToString().ToLowerInvariant(),
            AppContext = l.AppContext,
        })],
        Extension = new CardExtension
        {
            CdsRisk = Hooks.CdsRiskCardExtension.From(evaluation.Outcome, evaluation.PreScore,
                evaluation.PreScore is null ? null : new ModelReference { Id = model.Id, Version = model.Version, Sha256 = model.Sha256 },
                evaluation.Criteria) with
            {
                Card = c.Extension.Card,
                Threshold = c.Extension.Threshold,
                Risk = c.Extension.Risk,
                ImputedFeatures = c.Extension.ImputedFeatures.Count == 0 ? null : c.Extension.ImputedFeatures,
                RiskAssessment = c.Extension.RiskAssessment,
                ProtocolVersion = evaluation.Eligibility?.ProtocolVersion,
                FollowUp = c.Extension.FollowUp is { } f ? FollowUpEntry.From(f) : null,
            },
        },
    };

    private static JsonElement ToJson(Resource resource)
    {
        using var document = JsonDocument.Parse(FhirJson.SerializeToString(resource));
        return document.RootElement.Clone();
    }
}
