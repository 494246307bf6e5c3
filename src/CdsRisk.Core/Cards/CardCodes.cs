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

    public const string SourceLabel = "CdsRisk screening for NCT07282184";

    /// <summary>Said where it is seen (summary and source label) when the model card says notForClinicalUse (issue 14 section 1).</summary>
    public const string ReferenceModelTag = "[reference model — not for clinical use]";

    /// <summary>The source label of every card: the service, and that its model is not for clinical use when that is so.</summary>
    public static string Source(bool referenceModel) => referenceModel ? SourceLabel + " " + ReferenceModelTag : SourceLabel;

    public static IReadOnlyList<CardCoding> OverrideReasons { get; } =
    [
        new(OverrideReasonSystem, "patient-declines", "Patient declines trial participation"),
        new(OverrideReasonSystem, "clinical-judgement", "Clinical judgement: not appropriate for this patient"),
        new(OverrideReasonSystem, "enrolled-elsewhere", "Already enrolled in another study"),
        new(OverrideReasonSystem, "data-incorrect", "The data behind this recommendation are incorrect"),
    ];

    public static CardCoding Topic(CardKind kind) => kind switch
    {
        CardKind.Eligible => new(CardTopicSystem, kind.ToWire(), "Potential NCT07282184 candidate: refer to the trial team for screening"),
        CardKind.LowRisk => new(CardTopicSystem, kind.ToWire(), "Not an NCT07282184 candidate: PRE below the trial's threshold"),
        CardKind.Ineligible => new(CardTopicSystem, kind.ToWire(), "Not eligible for NCT07282184"),
        CardKind.NeedsData => new(CardTopicSystem, kind.ToWire(), "Data needed to decide NCT07282184 screening"),
        CardKind.Pending => new(CardTopicSystem, kind.ToWire(), "NCT07282184 screening in progress: MRI being read"),
        CardKind.ResectionOrdered => new(CardTopicSystem, kind.ToWire(), "Liver resection ordered for a potential NCT07282184 candidate: refer for screening"),
        CardKind.RegimenHypersensitivity => new(CardTopicSystem, kind.ToWire(), "Ordered drug related to a recorded hypersensitivity"),
        CardKind.NotAssessed => new(CardTopicSystem, kind.ToWire(), "NCT07282184 screening not possible: data could not be read"),
        CardKind.FollowUp => new(CardTopicSystem, kind.ToWire(), "NCT07282184 follow-up schedule"),
        CardKind.SafetySignal => new(CardTopicSystem, kind.ToWire(), "Possible adverse event during NCT07282184 therapy"),
        CardKind.PostOperativeExclusion => new(CardTopicSystem, kind.ToWire(), "NCT07282184 post-operative exclusion criterion met"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>What a criterion is about, in two or three words, for summaries and short lists ("ECOG", "4-phase MRI").</summary>
    public static string CriterionNoun(string id) => id switch
    {
        CriterionIds.Age => "age",
        CriterionIds.Consent => "informed consent",
        CriterionIds.BclcStage => "BCLC stage",
        CriterionIds.ResectionScheduled => "planned resection",
        CriterionIds.PreScore => "PRE",
        CriterionIds.ChildPugh => "Child-Pugh",
        CriterionIds.Ecog => "ECOG",
        CriterionIds.Mri4Phase => "4-phase MRI",
        CriterionIds.FollowUp => "2-year follow-up",
        CriterionIds.NonHccPathology => "pathology",
        CriterionIds.OtherMalignancy => "other malignancy",
        CriterionIds.EarlyDeathOrLoss => "90-day outcome",
        CriterionIds.RegimenHypersensitivity => "regimen drug allergy",
        CriterionIds.HeartFailure => "heart disease",
        CriterionIds.SevereRenalDysfunction => "renal function",
        CriterionIds.UncontrolledHypertension => "blood pressure",
        CriterionIds.InvestigatorJudgement => "investigator judgement",
        _ => throw new ArgumentOutOfRangeException(nameof(id), id, "Not one of the 17 NCT07282184 criteria."),
    };

    /// <summary>Human names of the 17 criteria, in the order of <see cref="CriterionIds.All"/>.</summary>
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
