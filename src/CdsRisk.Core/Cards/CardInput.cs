using CdsRisk.Core.Eligibility;

namespace CdsRisk.Core.Cards;

/// <summary>Which model produced the score: shown on every card and written into the Device and RiskAssessment.</summary>
/// <param name="Id">Model name, e.g. "cdsrisk-pre".</param>
/// <param name="Version">Model version as in its model card.</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the ONNX file.</param>
/// <param name="IsReferenceModel">True when the model card says notForClinicalUse (the model trained on synthetic data that ships with the service).</param>
/// <param name="ModelCardUrl">Where the model card can be read, if published.</param>
public sealed record ModelIdentity(string Id, string Version, string Sha256, bool IsReferenceModel, string? ModelCardUrl = null);

/// <summary>A selected draft order for a drug related to one the patient is recorded as hypersensitive to.</summary>
/// <param name="OrderReference">The selection as in the hook context, e.g. "MedicationRequest/abc".</param>
/// <param name="Drug">The ordered drug as shown to the clinician, e.g. "carboplatin".</param>
/// <param name="AllergyReference">The AllergyIntolerance that records the hypersensitivity, if known.</param>
/// <param name="Allergen">The drug the allergy is recorded to, e.g. "oxaliplatin" (when known).</param>
/// <param name="Relation">How the two relate: "same drug", "same drug class (…)", "possible cross-reactivity (…)".</param>
public sealed record HypersensitiveOrder(string OrderReference, string Drug, string? AllergyReference = null, string? Allergen = null, string? Relation = null);

/// <summary>What the orders of an order-select (its selections) or order-sign (all draft orders) call contain, as far as the cards care.</summary>
public sealed record OrderSelection
{
    /// <summary>A liver resection (hepatectomy) order is among the orders.</summary>
    public bool LiverResectionSelected { get; init; }

    /// <summary>The liver-resection order, e.g. "ServiceRequest/xyz", if known (for machines; never shown on a card).</summary>
    public string? LiverResectionOrderReference { get; init; }

    /// <summary>What the liver-resection order says it is, as the EHR displays it (e.g. "Partial hepatectomy"), if known.</summary>
    public string? LiverResectionOrderDisplay { get; init; }

    public IReadOnlyList<HypersensitiveOrder> HypersensitiveOrders { get; init; } = [];
}

/// <summary>Where the cards point the clinician.</summary>
public sealed record TrialLinks
{
    public const string DefaultTrialPageUrl = "https://clinicaltrials.gov/study/NCT07282184";

    public string TrialPageUrl { get; init; } = DefaultTrialPageUrl;

    /// <summary>The SMART app that shows the score in full; no link when not configured.</summary>
    public string? SmartAppUrl { get; init; }

    public string SmartAppLabel { get; init; } = "Full assessment: every criterion with its evidence";
}

/// <summary>Everything the card builder needs for one hook call; independent of how eligibility was evaluated.</summary>
public sealed record CardInput
{
    /// <summary>"patient-view", "order-select" or "order-sign".</summary>
    public required string Hook { get; init; }

    /// <summary>The hook instance: also the id of the audit record of this assessment, which the SMART app link names.</summary>
    public required string HookInstance { get; init; }

    public required EligibilityOutcome Outcome { get; init; }

    /// <summary>The criteria that were evaluated; ids from <see cref="CriterionIds"/>. Missing ones are shown as not evaluated.</summary>
    public required IReadOnlyList<CriterionResult> Criteria { get; init; }

    /// <summary>The PRE score in [0, 1]; required for eligible and low-risk outcomes.</summary>
    public double? Pre { get; init; }

    public double Threshold { get; init; } = 0.5;

    public required ModelIdentity Model { get; init; }

    /// <summary>"Patient/{id}".</summary>
    public required string PatientReference { get; init; }

    public string? EncounterReference { get; init; }

    /// <summary>The hook's userId ("Practitioner/{id}" or "PractitionerRole/{id}"): the requester of the referral.</summary>
    public string? UserReference { get; init; }

    public OrderSelection? Orders { get; init; }

    public TrialLinks Trial { get; init; } = new();

    /// <summary>The RiskAssessment written (or about to be written) for this score, e.g. "RiskAssessment/123" or "urn:uuid:…".</summary>
    public string? RiskAssessmentReference { get; init; }

    /// <summary>not-assessed: the data categories that could not be read (FHIR resource types, e.g. "Condition").</summary>
    public IReadOnlyList<string> UnreadableData { get; init; } = [];

    /// <summary>Clinical features that were missing and imputed with the training mean (names from ClinicalFeatureNames).</summary>
    public IReadOnlyList<string> ImputedFeatures { get; init; } = [];

    /// <summary>The protocol file the criteria were evaluated with, e.g. "NCT07282184 1.2.0" (for machines).</summary>
    public string? ProtocolVersion { get; init; }

    /// <summary>On study (issue 17): the follow-up schedule, signals and post-operative exclusions; its cards replace screening.</summary>
    public FollowUp.FollowUpResult? FollowUp { get; init; }
}
