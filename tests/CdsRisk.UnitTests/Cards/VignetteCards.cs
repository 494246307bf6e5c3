using System.Text.Json;
using System.Text.Json.Nodes;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.WriteBack;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using CdsRisk.Core.Scoring;
using CdsRisk.UnitTests.Eligibility;
using Hl7.Fhir.Model;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Cards;

/// <summary>
/// A vignette through the eligibility engine and the production card path (<see cref="HookCards"/>: CardBuilder, the one mapping
/// onto the wire records, <see cref="CdsHooksJson"/>'s options), as a hook would answer it. Only the imaging and the model are
/// replaced by what the vignette says they gave.
/// </summary>
internal static class VignetteCards
{
    public const string HookInstance = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";
    public const string SmartAppUrl = "https://apps.example.org/cdsrisk/launch";

    private static readonly EligibilityEngine Engine = new(EligibilityData.LoadEmbedded());

    /// <summary>The bundled model's card: the scorer the hook uses is checked against it.</summary>
    private static readonly ModelCard Model = ModelCard.Load(Path.Combine(new PreModelOptions().ResolveDirectory(), PreModelOptions.CardFileName));
    private static readonly Lazy<HookCards> Cards = new(() => new HookCards(
        new PreScorer(new PreModelOptions()),
        new OrderSelectChecks(Engine.Data),
        Options.Create(new PipelineOptions { SmartAppUrl = SmartAppUrl }),
        Options.Create(new WriteBackOptions())));

    /// <summary>A draft hepatectomy order (CPT 47120), as the demo EHR sends it.</summary>
    public static ServiceRequest Hepatectomy(string patientId) => new()
    {
        Id = "draft-hepatectomy",
        Status = RequestStatus.Draft,
        Intent = RequestIntent.Order,
        Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "47120", "Hepatectomy, resection of liver; partial lobectomy", "Liver resection (partial hepatectomy)"),
        Subject = new ResourceReference("Patient/" + patientId),
    };

    /// <summary>A draft carboplatin order (RxNorm 40048): not a regimen drug, but a platinum compound like oxaliplatin.</summary>
    public static MedicationRequest Carboplatin(string patientId) => new()
    {
        Id = "draft-carboplatin",
        Status = MedicationRequest.MedicationrequestStatus.Draft,
        Intent = MedicationRequest.MedicationRequestIntent.Order,
        Medication = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "40048", "carboplatin"),
        Subject = new ResourceReference("Patient/" + patientId),
    };

    /// <summary>
    /// The hook's answer for a vignette. <paramref name="orders"/> are the draft orders of an order hook (for order-select all are
    /// selected); <paramref name="unreadable"/> marks data categories as not loadable, as a failed fetch would.
    /// </summary>
    public static CdsServiceResponse Answer(string vignette, string hook = CardBuilder.PatientView, Func<string, Resource[]>? orders = null,
        IReadOnlyList<string>? unreadable = null) => Answer(vignette, Vignette.Record(vignette), hook, orders, unreadable);

    /// <summary>The hook's answer for <paramref name="record"/> (read from <paramref name="vignette"/>), which the caller keeps.</summary>
    public static CdsServiceResponse Answer(string vignette, PatientRecord record, string hook = CardBuilder.PatientView, Func<string, Resource[]>? orders = null,
        IReadOnlyList<string>? unreadable = null)
    {
        var expected = Vignette.Expected(vignette);
        var inputs = Vignette.Inputs(expected);
        var patientId = record.Patient.Id!;
        var drafts = orders?.Invoke(patientId) ?? [];
        record = record with
        {
            DraftOrders = drafts,
            SelectedOrders = hook == CardBuilder.OrderSelect ? [.. drafts.Select(d => d.TypeName + "/" + d.Id)] : [],
            UnavailableData = unreadable ?? [],
        };
        var invocation = new HookInvocation
        {
            ServiceId = "nct07282184-" + hook,
            Hook = hook,
            HookInstance = Guid.Parse(HookInstance),
            PatientId = patientId,
            UserId = "Practitioner/surgeon-01",
            EncounterId = "enc-001",
            Selections = record.SelectedOrders,
            ReceivedAt = inputs.EvaluatedAt,
        };

        if (!Cards.Value.ConcernsTheTrial(invocation, record))
        {
            return HookCards.Silent;
        }

        return Cards.Value.Build(invocation, record, Evaluate(record, inputs), writeBack: null);
    }

    /// <summary>The answer as its JSON goes on the wire.</summary>
    public static JsonObject Json(CdsServiceResponse response) => JsonSerializer.SerializeToNode(response, CdsHooksJson.Options)!.AsObject();

    /// <summary>What TrialRiskEvaluator makes of the engine's result (the scoring stage replaced by the vignette's PRE and MRI).</summary>
    private static RiskEvaluation Evaluate(PatientRecord record, EligibilityInputs inputs)
    {
        var snapshot = Engine.Snapshot(record, inputs.EvaluatedAt);
        if (!TrialRiskEvaluator.IsInTrialPopulation(snapshot))
        {
            return new RiskEvaluation { Outcome = EligibilityOutcome.Ineligible, Criteria = [], IsApplicable = false };
        }

        var result = Engine.Evaluate(snapshot, inputs);
        var notAssessed = record.UnavailableData.Count > 0 && result.Outcome != EligibilityOutcome.Ineligible;
        return new RiskEvaluation
        {
            Outcome = notAssessed ? EligibilityOutcome.NotAssessed : result.Outcome,
            NotAssessedBecause = notAssessed ? record.UnavailableData : [],
            PreScore = result.PreIsMeaningful ? result.Pre.Value : null,
            Model = result.PreIsMeaningful ? new ModelReference { Id = Model.Id, Version = Model.Version, Sha256 = Model.Sha256 } : null,
            Threshold = Engine.Data.Protocol.PreThreshold,
            Criteria = result.Criteria,
            Eligibility = result,
        };
    }
}
