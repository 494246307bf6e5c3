using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.UnitTests.WriteBack;

namespace CdsRisk.UnitTests.Cards;

internal static class CardFixtures
{
    public const string HookInstance = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea";
    public const string RiskAssessment = "RiskAssessment/ra-001";

    private static readonly DateTimeOffset Day = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    private static readonly string[] PersonOnly =
    [
        CriterionIds.Consent, CriterionIds.FollowUp, CriterionIds.NonHccPathology,
        CriterionIds.EarlyDeathOrLoss, CriterionIds.InvestigatorJudgement,
    ];

    /// <summary>What an eligibility engine reports for a high-risk candidate: automatic criteria pass, person-only ones to be confirmed.</summary>
    public static List<CriterionResult> EligibleCriteria(double pre = 0.73) =>
    [
        .. CriterionIds.All.Select(id => PersonOnly.Contains(id)
            ? new CriterionResult(id, CriterionStatus.ToBeConfirmed, ConfirmReason(id), [])
            : new CriterionResult(id, CriterionStatus.Pass, PassReason(id, pre), PassEvidence(id, pre))),
    ];

    public static List<CriterionResult> With(this List<CriterionResult> criteria, CriterionResult replacement) =>
        [.. criteria.Select(c => c.Id == replacement.Id ? replacement : c)];

    public static CardInput Input(EligibilityOutcome outcome, List<CriterionResult> criteria, double? pre, string hook = CardBuilder.PatientView) => new()
    {
        Hook = hook,
        HookInstance = HookInstance,
        Outcome = outcome,
        Criteria = criteria,
        Pre = pre,
        Threshold = 0.5,
        Model = TestAssessments.ReferenceModel,
        PatientReference = "Patient/hcc-001",
        EncounterReference = "Encounter/enc-001",
        UserReference = "Practitioner/surgeon-01",
        RiskAssessmentReference = pre is null ? null : RiskAssessment,
        ImputedFeatures = pre is null ? [] : ["platelets_10e9_l"],
        Trial = new TrialLinks { SmartAppUrl = "https://apps.example.org/pre-viewer/launch" },
    };

    public static CardInput Eligible() => Input(EligibilityOutcome.Eligible, EligibleCriteria(), 0.73);

    public static CardInput LowRisk() => Input(EligibilityOutcome.LowRisk,
        EligibleCriteria(0.21).With(new CriterionResult(CriterionIds.PreScore, CriterionStatus.Fail, "PRE 0.21 is below the threshold 0.50.",
            [new Evidence("RiskAssessment/ra-001", "PRE score", "0.21", Day)])), 0.21);

    public static CardInput Ineligible() => Input(EligibilityOutcome.Ineligible,
        EligibleCriteria()
            .With(new CriterionResult(CriterionIds.Age, CriterionStatus.Fail, "Age 78 is above 75.", [new Evidence("Patient/hcc-001", "Age from birth date", "78 a")]))
            .With(new CriterionResult(CriterionIds.HeartFailure, CriterionStatus.Fail, "NYHA class III recorded.",
                [new Evidence("Observation/nyha-1", "NYHA class", "Class III | moderate*", Day)])), null);

    public static CardInput NeedsData() => Input(EligibilityOutcome.NeedsData,
        EligibleCriteria()
            .With(new CriterionResult(CriterionIds.Ecog, CriterionStatus.Unknown, "ECOG missing: none recorded within 30 days", [])
            { ToRecord = "Record ECOG performance status (within 30 days)" })
            .With(new CriterionResult(CriterionIds.Mri4Phase, CriterionStatus.Unknown, "Delayed phase missing from the MRI of 2026-11-02.",
                [new Evidence("ImagingStudy/mri-001", "MRI series found", "non-contrast, arterial, portal venous", Day)])
            { ToRecord = "Perform a 4-phase liver MRI (non-contrast, arterial, portal venous, delayed) within 31 days before enrolment" })
            .With(new CriterionResult(CriterionIds.PreScore, CriterionStatus.Unknown, "PRE not computed: it needs a usable 4-phase MRI (see the MRI criterion)", [])), null);

    public static CardInput Pending() => Input(EligibilityOutcome.Pending,
        EligibleCriteria()
            .With(new CriterionResult(CriterionIds.PreScore, CriterionStatus.Pending, "PRE score is being computed", []))
            .With(new CriterionResult(CriterionIds.Mri4Phase, CriterionStatus.Pending, "MR study 2026-11-13 (7 days old, within 31 days): phases and quality are checked when the images are read", [])), null);

    public static CardInput NotAssessed() => Input(EligibilityOutcome.NotAssessed, EligibleCriteria(), null) with { UnreadableData = ["Condition", "Procedure"] };

    public static CardInput OrderSelectResection() => Eligible() with
    {
        Hook = CardBuilder.OrderSelect,
        Orders = new OrderSelection
        {
            LiverResectionSelected = true,
            LiverResectionOrderReference = "ServiceRequest/hepatectomy-draft",
            LiverResectionOrderDisplay = "Liver resection (partial hepatectomy)",
        },
    };

    public static CardInput OrderSignResection() => OrderSelectResection() with { Hook = CardBuilder.OrderSign };

    public static CardInput OrderSelectHypersensitivity() => Input(EligibilityOutcome.Ineligible,
        EligibleCriteria().With(new CriterionResult(CriterionIds.RegimenHypersensitivity, CriterionStatus.Fail, "Hypersensitivity to oxaliplatin recorded.",
            [new Evidence("AllergyIntolerance/ox-1", "Allergy", "oxaliplatin (RxNorm 32592)", Day)])), null, CardBuilder.OrderSelect) with
    {
        Orders = new OrderSelection
        {
            HypersensitiveOrders = [new HypersensitiveOrder("MedicationRequest/folfox-ox", "carboplatin", "AllergyIntolerance/ox-1", "oxaliplatin",
                "possible cross-reactivity (oxaliplatin and other platinum compounds)")],
        },
    };

    /// <summary>One input for every outcome and card kind.</summary>
    public static IEnumerable<(string Name, CardInput Input)> All()
    {
        yield return ("eligible", Eligible());
        yield return ("low-risk", LowRisk());
        yield return ("ineligible", Ineligible());
        yield return ("needs-data", NeedsData());
        yield return ("pending", Pending());
        yield return ("not-assessed", NotAssessed());
        yield return ("order-select-resection", OrderSelectResection());
        yield return ("order-sign-resection", OrderSignResection());
        yield return ("order-select-hypersensitivity", OrderSelectHypersensitivity());
    }

    private static string ConfirmReason(string id) => id switch
    {
        CriterionIds.Consent => "Written informed consent is obtained by the trial team.",
        CriterionIds.FollowUp => "Willingness to attend 2 years of follow-up is asked at enrolment.",
        CriterionIds.NonHccPathology => "Known only after surgery, from the resection pathology.",
        CriterionIds.EarlyDeathOrLoss => "Known only 90 days after surgery.",
        _ => "Decided by the investigator.",
    };

    private static string PassReason(string id, double pre) => id switch
    {
        CriterionIds.Age => "Age 58.",
        CriterionIds.BclcStage => "BCLC A recorded on the HCC diagnosis.",
        CriterionIds.ResectionScheduled => "Hepatectomy requested.",
        CriterionIds.PreScore => $"PRE {pre:0.00} is at or above the threshold 0.50.",
        CriterionIds.ChildPugh => "Child-Pugh 5 (class A).",
        CriterionIds.Ecog => "ECOG 1.",
        CriterionIds.Mri4Phase => "4-phase MRI 7 days ago.",
        CriterionIds.OtherMalignancy => "No other malignancy recorded.",
        CriterionIds.RegimenHypersensitivity => "No allergy to oxaliplatin, fluorouracil, PD-1 inhibitors or lenvatinib.",
        CriterionIds.HeartFailure => "No heart failure recorded.",
        CriterionIds.SevereRenalDysfunction => "eGFR 92 mL/min/1.73 m².",
        CriterionIds.UncontrolledHypertension => "Latest readings 128/82 and 131/79 mmHg.",
        _ => "Met.",
    };

    private static List<Evidence> PassEvidence(string id, double pre) => id switch
    {
        CriterionIds.Age => [new Evidence("Patient/hcc-001", "Age from birth date", "58 a")],
        CriterionIds.ChildPugh => [new Evidence("Observation/bili-001", "Total bilirubin", "14.2 µmol/L", Day), new Evidence("Observation/alb-001", "Albumin", "41 g/L", Day)],
        CriterionIds.Ecog => [new Evidence("Observation/ecog-001", "ECOG", "1", Day)],
        CriterionIds.PreScore => [new Evidence("RiskAssessment/ra-001", "PRE score", pre.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), Day)],
        _ => [],
    };
}
