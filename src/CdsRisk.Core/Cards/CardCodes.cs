using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Scoring;

namespace CdsRisk.Core.Cards;

/// <summary>Our code systems and fixed codes used on cards (canonical base in docs/contracts.md).</summary>
public static class CardCodes
{
    public const string Base = "https://cdsrisk.example.org/fhir";
    public const string CardTopicSystem = Base + "/CodeSystem/card-topic";
    public const string OverrideReasonSystem = Base + "/CodeSystem/override-reason";

    public const string TrialNctNumber = "NCT07282184";

    /// <summary>Identifier system for ClinicalTrials.gov registry numbers.</summary>
    public const string ClinicalTrialsGovSystem = "https://clinicaltrials.gov";

    public const string SourceLabel = "CdsRisk PRE model for NCT07282184";

    public static IReadOnlyList<CardCoding> OverrideReasons { get; } =
    [
        new(OverrideReasonSystem, "patient-declines", "Patient declines trial participation"),
        new(OverrideReasonSystem, "clinical-judgement", "Clinical judgement: not appropriate for this patient"),
        new(OverrideReasonSystem, "enrolled-elsewhere", "Already enrolled in another study"),
        new(OverrideReasonSystem, "data-incorrect", "The data behind this recommendation are incorrect"),
    ];

    public static CardCoding Topic(CardKind kind) => kind switch
    {
        CardKind.Eligible => new(CardTopicSystem, "eligible", "Eligible for NCT07282184, high recurrence risk"),
        CardKind.LowRisk => new(CardTopicSystem, "low-risk", "Low risk of aggressive recurrence"),
        CardKind.Ineligible => new(CardTopicSystem, "ineligible", "Not eligible for NCT07282184"),
        CardKind.NeedsData => new(CardTopicSystem, "needs-data", "Data needed to decide NCT07282184 eligibility"),
        CardKind.Pending => new(CardTopicSystem, "pending", "Recurrence risk score being computed"),
        CardKind.ResectionBeforeEnrolment => new(CardTopicSystem, "resection-before-enrolment", "Liver resection ordered before trial enrolment"),
        CardKind.RegimenHypersensitivity => new(CardTopicSystem, "regimen-hypersensitivity", "Order for a regimen drug the patient is hypersensitive to"),
        CardKind.NotAssessed => new(CardTopicSystem, "not-assessed", "NCT07282184 screening not possible: data could not be read"),
        CardKind.FollowUp => new(CardTopicSystem, "follow-up", "NCT07282184 follow-up schedule"),
        CardKind.SafetySignal => new(CardTopicSystem, "safety-signal", "Possible adverse event during NCT07282184 therapy"),
        CardKind.PostOperativeExclusion => new(CardTopicSystem, "post-operative-exclusion", "NCT07282184 post-operative exclusion criterion met"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Short human names of the 17 criteria, in the order of <see cref="CriterionIds.All"/>.</summary>
    public static string CriterionLabel(string id) => id switch
    {
        CriterionIds.Age => "Age 18–75",
        CriterionIds.Consent => "Informed consent",
        CriterionIds.BclcStage => "BCLC stage 0–A",
        CriterionIds.ResectionScheduled => "Curative resection scheduled",
        CriterionIds.PreScore => "PRE score ≥ threshold",
        CriterionIds.ChildPugh => "Child-Pugh ≤ 7 (protocol; class A is 5–6, 7 is B7)",
        CriterionIds.Ecog => "ECOG 0–1",
        CriterionIds.Mri4Phase => "4-phase MRI within 31 days",
        CriterionIds.FollowUp => "Able to follow up 2 years",
        CriterionIds.NonHccPathology => "No non-HCC pathology",
        CriterionIds.OtherMalignancy => "No other malignancy within 5 years",
        CriterionIds.EarlyDeathOrLoss => "No death or loss to follow-up within 90 days",
        CriterionIds.RegimenHypersensitivity => "No hypersensitivity to regimen drugs",
        CriterionIds.HeartFailure => "No NYHA III–IV heart failure or uncontrolled cardiac disease",
        CriterionIds.SevereRenalDysfunction => "No severe renal dysfunction",
        CriterionIds.UncontrolledHypertension => "No uncontrolled hypertension",
        CriterionIds.InvestigatorJudgement => "Investigator judgement",
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "Not one of the 17 NCT07282184 criteria."),
    };

    /// <summary>Clinician-facing name of a model input (ClinicalFeatureNames); unknown names are shown as they are.</summary>
    public static string FeatureLabel(string feature) => feature switch
    {
        ClinicalFeatureNames.AgeYears => "age",
        ClinicalFeatureNames.SexMale => "sex",
        ClinicalFeatureNames.AfpNgPerMl => "AFP",
        ClinicalFeatureNames.AlbuminGPerL => "albumin",
        ClinicalFeatureNames.BilirubinUmolPerL => "total bilirubin",
        ClinicalFeatureNames.PlateletsE9PerL => "platelet count",
        ClinicalFeatureNames.Inr => "INR",
        ClinicalFeatureNames.TumourSizeCm => "tumour size",
        ClinicalFeatureNames.TumourCount => "tumour count",
        _ => feature,
    };
}
