using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.UnitTests.WriteBack;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Cards;

public sealed class CardBuilderTests
{
    private const string Tag = "[reference model — not for clinical use]";

    [Fact]
    public void Eligible_IsAPotentialCandidateToReferForScreening_WithReferralAndCandidateSuggestions()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));

        Assert.Equal(CardKind.Eligible, card.Kind);
        Assert.Equal(CardIndicator.Warning, card.Indicator);
        Assert.Equal("Potential candidate for NCT07282184 (PRE 0.73): refer to the trial team for screening " + Tag, card.Summary);
        Assert.Contains("**Next:** refer the patient to the trial team for screening.", card.Detail);
        Assert.Equal(SelectionBehavior.AtMostOne, card.SelectionBehavior);
        Assert.Equal(2, card.Suggestions.Count);

        var recommended = Assert.Single(card.Suggestions, s => s.IsRecommended);
        Assert.Equal("Refer to the NCT07282184 trial team for screening", recommended.Label);
        var referral = Assert.IsType<ServiceRequest>(recommended.Actions[0].Resource);
        Assert.Equal(ActionType.Create, recommended.Actions[0].Type);
        Assert.Equal(RequestStatus.Draft, referral.Status);
        Assert.Equal(RequestIntent.Order, referral.Intent);
        Assert.Equal("Referral to the NCT07282184 trial team for screening", referral.Code!.Text);
        Assert.Equal("Patient/hcc-001", referral.Subject.Reference);
        Assert.Equal("Practitioner/surgeon-01", referral.Requester!.Reference);
        Assert.Equal(CardFixtures.RiskAssessment, Assert.Single(referral.ReasonReference).Reference);
        Assert.Contains("Please screen the patient for the trial.", Assert.Single(referral.Note).Text);
        Assert.Contains("reference model trained on synthetic data: not for clinical use", referral.Note[0].Text);

        var candidate = Assert.IsType<ResearchSubject>(recommended.Actions[1].Resource);
        Assert.Equal(ResearchSubject.ResearchSubjectStatus.Candidate, candidate.Status);
        Assert.Equal("NCT07282184", candidate.Study!.Identifier!.Value);
        Assert.Equal("https://clinicaltrials.gov", candidate.Study!.Identifier!.System);
        Assert.Equal("Patient/hcc-001", candidate.Individual.Reference);
    }

    [Fact]
    public void Eligible_OffersTheFourOverrideReasons_EachWithDisplayInOurCodeSystem()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        Assert.Equal(["patient-declines", "clinical-judgement", "enrolled-elsewhere", "data-incorrect"], card.OverrideReasons.Select(r => r.Code));
        Assert.All(card.OverrideReasons, r =>
        {
            Assert.Equal("https://cdsrisk.example.org/fhir/CodeSystem/override-reason", r.System);
            Assert.False(string.IsNullOrWhiteSpace(r.Display));
        });
    }

    [Fact]
    public void ShortCards_TheSmartLinkNamesTheAssessmentByItsHookInstance_AndTheTrialPageIsKept()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        Assert.Contains(card.Links, l => l is { Type: LinkType.Absolute, Url: "https://clinicaltrials.gov/study/NCT07282184" });
        var smart = Assert.Single(card.Links, l => l.Type == LinkType.Smart);
        Assert.Equal("https://apps.example.org/pre-viewer/launch", smart.Url);
        Assert.Equal($$"""{"assessment":"{{CardFixtures.HookInstance}}"}""", smart.AppContext);
    }

    [Fact]
    public void SmartLink_IsLeftOut_WhenNoAppIsConfigured_AndOnTheDrugSafetyAlert()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { Trial = new TrialLinks() }));
        Assert.DoesNotContain(card.Links, l => l.Type == LinkType.Smart);
        Assert.Single(card.Links);

        var alert = CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity()).First(c => c.Kind == CardKind.RegimenHypersensitivity);
        Assert.DoesNotContain(alert.Links, l => l.Type == LinkType.Smart);
    }

    [Fact]
    public void Referral_UsesAReasonText_WhenNoRiskAssessmentWasWritten()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { RiskAssessmentReference = null }));
        var referral = card.Suggestions.SelectMany(s => s.Actions).Select(a => a.Resource).OfType<ServiceRequest>().Single();
        Assert.Empty(referral.ReasonReference);
        Assert.Equal("Potential candidate for NCT07282184 (PRE 0.73)", Assert.Single(referral.ReasonCode).Text);
    }

    [Fact]
    public void LowRisk_IsNotACandidate_PreBelowTheThreshold_AndSaysNothingAboutCare()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.LowRisk()));
        Assert.Equal(CardKind.LowRisk, card.Kind);
        Assert.Equal(CardIndicator.Info, card.Indicator);
        Assert.Empty(card.Suggestions);
        Assert.Null(card.SelectionBehavior);
        Assert.Empty(card.OverrideReasons);
        Assert.Equal("Not a candidate for NCT07282184: PRE 0.21 below the trial's threshold 0.50 " + Tag, card.Summary);
        Assert.DoesNotContain("pathway", card.Summary + card.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("surg", card.Summary + card.Detail.Replace("within 2 years of resection", "", StringComparison.Ordinal), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void NotForClinicalUse_IsSaidInTheSummaryAndTheSourceLabel_OfEveryCardThatShowsAPre_AndNeverCut()
    {
        foreach (var input in new[] { CardFixtures.Eligible(), CardFixtures.LowRisk(), CardFixtures.OrderSelectResection() })
        {
            var card = Assert.Single(CardBuilder.Build(input));
            Assert.EndsWith(Tag, card.Summary);
            Assert.InRange(card.Summary.Length, 1, 139);
            Assert.Contains("not for clinical use", card.Source.Label);
            Assert.Contains("not for clinical use", card.Detail);

            var production = Assert.Single(CardBuilder.Build(input with { Model = input.Model with { IsReferenceModel = false } }));
            Assert.DoesNotContain("clinical use", production.Summary + production.Source.Label + production.Detail);
        }

        // A summary long enough to be cut keeps the whole warning.
        var longer = CardFixtures.OrderSelectResection() with { Pre = 0.734567 };
        Assert.EndsWith(Tag, Assert.Single(CardBuilder.Build(longer)).Summary);
    }

    [Fact]
    public void Ineligible_ListsEachFailingCriterion_OnOneLine_InTheProtocolsOrder()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Ineligible()));
        Assert.Equal(CardKind.Ineligible, card.Kind);
        var bullets = card.Detail.Split('\n').Where(l => l.StartsWith("- **", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, bullets.Count);
        Assert.Contains("Age 18–75", bullets[0]);
        Assert.Contains("Age 78 is above 75", bullets[0]);
        Assert.Contains("NYHA class III recorded", bullets[1]);
        Assert.Equal("Not eligible for NCT07282184 (not met: age, heart disease)", card.Summary);
    }

    [Fact]
    public void ShortCards_WithManyFailingCriteria_NameThreeWithTheirReason_AndTheRestInOneLine()
    {
        var criteria = CardFixtures.EligibleCriteria()
            .Select(c => c.Status == CriterionStatus.Pass ? c with { Status = CriterionStatus.Fail, Reason = "Not met." } : c)
            .ToList();
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Input(EligibilityOutcome.Ineligible, criteria, null)));
        Assert.InRange(card.Summary.Length, 1, 139);
        Assert.Equal(CardBuilder.MaxListed, card.Detail.Split('\n').Count(l => l.StartsWith("- **", StringComparison.Ordinal)));
        Assert.Contains("Also not met: PRE, Child-Pugh, ECOG, 4-phase MRI, other malignancy, regimen drug allergy, heart disease, renal function, blood pressure.", card.Detail);
    }

    [Fact]
    public void NeedsData_NeverListsThePreUnderPleaseRecord_AndOneMissingPhaseIsOneItem()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.NeedsData()));
        Assert.Equal(CardKind.NeedsData, card.Kind);
        var items = card.Detail.Split('\n').Where(l => l.StartsWith("- ", StringComparison.Ordinal)).ToList();
        Assert.Equal(["- Record ECOG performance status (within 30 days)", "- Perform a 4-phase liver MRI (non-contrast, arterial, portal venous, delayed) within 31 days before enrolment"], items);
        Assert.Equal("NCT07282184 screening undecided: record ECOG, 4-phase MRI", card.Summary);
        Assert.DoesNotContain("PRE", card.Summary, StringComparison.Ordinal);
        // The PRE waiting on the MRI is said once, apart from what to record.
        Assert.Contains("**PRE**: PRE not computed: it needs a usable 4-phase MRI (see the MRI criterion)", card.Detail);
    }

    [Fact]
    public void NeedsData_TwoCriteriaAskingForTheSameThing_AreOneItem()
    {
        var input = CardFixtures.NeedsData() with
        {
            Criteria = CardFixtures.EligibleCriteria()
                .With(new CriterionResult(CriterionIds.ChildPugh, CriterionStatus.Unknown, "Child-Pugh incomplete: albumin missing", []) { ToRecord = "Record albumin (within 30 days)" })
                .With(new CriterionResult(CriterionIds.BclcStage, CriterionStatus.Unknown, "BCLC not recorded and cannot be derived", []) { ToRecord = "Record albumin (within 30 days)" }),
        };
        var card = Assert.Single(CardBuilder.Build(input));
        Assert.Single(card.Detail.Split('\n'), l => l == "- Record albumin (within 30 days)");
    }

    [Fact]
    public void MriPending_WhileTheImagesAreNotRead_IsShownAsBeingChecked_NeverAsSomethingToRecord()
    {
        var input = CardFixtures.NeedsData() with
        {
            Criteria = CardFixtures.EligibleCriteria()
                .With(new CriterionResult(CriterionIds.Ecog, CriterionStatus.Unknown, "ECOG missing", []) { ToRecord = "Record ECOG performance status (within 30 days)" })
                .With(new CriterionResult(CriterionIds.Mri4Phase, CriterionStatus.Pending, "MR study 2026-11-13: phases and quality are checked when the images are read", []))
                .With(new CriterionResult(CriterionIds.PreScore, CriterionStatus.Pending, "PRE score is being computed", [])),
        };
        var card = Assert.Single(CardBuilder.Build(input));
        Assert.Contains("Still being checked by the service: PRE, 4-phase MRI.", card.Detail);
        Assert.Single(card.Detail.Split('\n'), l => l.StartsWith("- ", StringComparison.Ordinal));
        Assert.Equal("NCT07282184 screening undecided: record ECOG", card.Summary);
    }

    [Fact]
    public void HypersensitivityCard_NamesTheRecordedAllergenTheOrderedDrugAndTheirRelation_WithoutCriteriaOrAnActionOnTheOrder()
    {
        var card = CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity()).First(c => c.Kind == CardKind.RegimenHypersensitivity);
        Assert.Equal("Hypersensitivity recorded to oxaliplatin; carboplatin ordered: possible cross-reactivity", card.Summary);
        Assert.Contains("- **carboplatin** ordered; hypersensitivity recorded to **oxaliplatin**: possible cross-reactivity (oxaliplatin and other platinum compounds)", card.Detail);
        Assert.Equal(CardIndicator.Critical, card.Indicator);
        // Both false statements of the review are gone; the alert carries no trial criteria, no model, and no action on the order:
        // whether to keep the order is the prescriber's decision (the cards never withhold a treatment).
        Assert.DoesNotContain("Hypersensitivity recorded to carboplatin", card.Summary + card.Detail);
        Assert.DoesNotContain("belong to the", card.Detail);
        Assert.DoesNotContain("Model ", card.Detail);
        Assert.DoesNotContain("MedicationRequest/", card.Detail);
        Assert.Empty(card.Suggestions);
        Assert.Null(card.SelectionBehavior);
    }

    [Fact]
    public void Pending_SaysTheMriIsBeingRead_AndAsksToOpenTheChartAgain()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Pending()));
        Assert.Equal(CardKind.Pending, card.Kind);
        Assert.Contains("open the chart again", card.Summary);
        Assert.Contains("MRI is being read", card.Summary);
    }

    [Fact]
    public void OrderHooks_ResectionForACandidate_IsTheMomentToReferForScreening_NeverAReasonToHoldTheOrder()
    {
        foreach (var input in new[] { CardFixtures.OrderSelectResection(), CardFixtures.OrderSignResection() })
        {
            var card = Assert.Single(CardBuilder.Build(input));
            Assert.Equal(CardKind.ResectionOrdered, card.Kind);
            Assert.Equal(CardIndicator.Warning, card.Indicator);
            Assert.Equal("Potential NCT07282184 candidate (PRE 0.73), resection ordered: refer for trial screening " + Tag, card.Summary);
            Assert.Contains("with a liver resection being ordered** — Liver resection (partial hepatectomy).", card.Detail);
            Assert.Contains("this order is the moment to refer the patient to the trial team for screening", card.Detail);
            Assert.DoesNotContain("ServiceRequest/", card.Detail);
            Assert.Equal("Refer to the NCT07282184 trial team for screening", card.Suggestions[0].Label);
        }
    }

    [Fact]
    public void OrderSelect_ResectionForALowRiskPatient_GivesOnlyTheLowRiskCard()
    {
        var input = CardFixtures.LowRisk() with
        {
            Hook = CardBuilder.OrderSelect,
            Orders = new OrderSelection { LiverResectionSelected = true },
        };
        Assert.Equal(CardKind.LowRisk, Assert.Single(CardBuilder.Build(input)).Kind);
    }

    [Fact]
    public void OrderSelect_HypersensitiveRegimenDrug_GivesTheCriticalCardFirst_ThenThePatientsCard()
    {
        var cards = CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity());
        Assert.Equal([CardKind.RegimenHypersensitivity, CardKind.Ineligible], cards.Select(c => c.Kind));
        Assert.Equal(cards, CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity() with { Hook = CardBuilder.OrderSign }).ToList(), new SameCard());
    }

    [Fact]
    public void PatientView_IgnoresOrderSelections()
    {
        var input = CardFixtures.OrderSelectResection() with { Hook = CardBuilder.PatientView };
        Assert.Equal(CardKind.Eligible, Assert.Single(CardBuilder.Build(input)).Kind);
    }

    [Fact]
    public void ShortCards_NoCardCarriesTheCriteriaTableOrTheModelHash()
    {
        foreach (var (name, input) in CardFixtures.All())
        {
            foreach (var card in CardBuilder.Build(input))
            {
                Assert.False(card.Detail.Contains("| ", StringComparison.Ordinal), $"{name}: a table in the detail");
                Assert.DoesNotContain(TestAssessments.Sha, card.Detail);
                Assert.DoesNotContain("Evidence", card.Detail);
            }
        }
    }

    [Fact]
    public void Eligible_DoubtsTheRecordRaised_AreListedWithWhatToConfirm_AndRoutineConfirmationsInOneLine()
    {
        var input = CardFixtures.Eligible() with
        {
            Criteria = CardFixtures.EligibleCriteria().With(new CriterionResult(CriterionIds.OtherMalignancy, CriterionStatus.ToBeConfirmed,
                "To confirm: Ductal carcinoma in situ of breast (in situ carcinoma outside the cervix: very low risk of recurrence is for the investigator)",
                [new CdsRisk.Core.Eligibility.Evidence("Condition/dcis", "in situ", null)])),
        };
        var card = Assert.Single(CardBuilder.Build(input));
        Assert.Contains("- **No other malignancy within 5 years**: Ductal carcinoma in situ of breast (in situ carcinoma outside the cervix: very low risk of recurrence is for the investigator)", card.Detail);
        Assert.Contains("Confirmed by the trial team: informed consent, 2-year follow-up, investigator judgement. Known only after surgery: pathology, 90-day outcome.", card.Detail);
    }

    [Fact]
    public void ChildPughWithAlbi_IsShownOnTheCandidateCard_AndSevenIsSaidToBeB7()
    {
        var input = CardFixtures.Eligible() with
        {
            Criteria = CardFixtures.EligibleCriteria().With(new CriterionResult(CriterionIds.ChildPugh, CriterionStatus.Pass,
                "Child-Pugh 7 (B7), ALBI grade 2 (-2.10): protocol admits ≤ 7 (class A is 5–6; 7 is B7, admitted by the protocol's stated ≤ 7)", [])),
        };
        var card = Assert.Single(CardBuilder.Build(input));
        Assert.Contains("Liver function: Child-Pugh 7 (B7), ALBI grade 2 (-2.10): protocol admits ≤ 7 (class A is 5–6; 7 is B7, admitted by the protocol's stated ≤ 7).", card.Detail);
    }

    [Fact]
    public void Doubt_IsThePartAfterToConfirm_OrTheWholeReason()
    {
        Assert.Equal("Child-Pugh B7 with ascites on record", CardBuilder.Doubt("BCLC A (recorded): protocol admits BCLC 0-A; to confirm: Child-Pugh B7 with ascites on record"));
        Assert.Equal("MI 2026-03-01, 3 months ago", CardBuilder.Doubt("No heart failure recorded; to confirm (uncontrolled cardiac disease?): MI 2026-03-01, 3 months ago"));
        Assert.Equal("Allergy to carboplatin", CardBuilder.Doubt("Allergy to carboplatin"));
    }

    [Fact]
    public void Uuids_AreStablePerHookInstanceAndCardKind()
    {
        var first = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        var again = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        var otherCall = Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { HookInstance = "0b4a2c56-8f0e-4c86-a1d8-3b6f1e3f9a10" }));
        var otherKind = Assert.Single(CardBuilder.Build(CardFixtures.OrderSelectResection()));

        Assert.Equal(first.Uuid, again.Uuid);
        Assert.Equal(first.Suggestions.Select(s => s.Uuid), again.Suggestions.Select(s => s.Uuid));
        Assert.NotEqual(first.Uuid, otherCall.Uuid);
        Assert.NotEqual(first.Uuid, otherKind.Uuid);
        Assert.Equal('5', first.Uuid.ToString()[14]);
        Assert.Equal(first.Uuid, DeterministicUuid.Create($"card|{CardFixtures.HookInstance}|eligible"));
    }

    public static TheoryData<string, CardInput> BadInputs() => new()
    {
        { "Hook", CardFixtures.Eligible() with { Hook = "encounter-start" } },
        { "HookInstance", CardFixtures.Eligible() with { HookInstance = " " } },
        { "PatientReference", CardFixtures.Eligible() with { PatientReference = "" } },
        { "eligible needs a PRE score at or above", CardFixtures.Eligible() with { Pre = 0.49 } },
        { "eligible needs a PRE score at or above", CardFixtures.Eligible() with { Pre = null } },
        { "Pre", CardFixtures.Pending() with { Pre = double.NaN } },
        { "Pre", CardFixtures.Pending() with { Pre = 1.2 } },
        { "Threshold", CardFixtures.Eligible() with { Threshold = 0 } },
        { "low-risk needs a PRE score below", CardFixtures.LowRisk() with { Pre = 0.5 } },
        { "at least one failing criterion", CardFixtures.Ineligible() with { Criteria = CardFixtures.EligibleCriteria() } },
        { "at least one unknown criterion", CardFixtures.NeedsData() with { Criteria = CardFixtures.EligibleCriteria() } },
        { "contradicts a failing, unknown or pending criterion", CardFixtures.Ineligible() with { Outcome = EligibilityOutcome.Eligible, Pre = 0.73 } },
        { "appears twice", CardFixtures.Eligible() with { Criteria = [.. CardFixtures.EligibleCriteria(), CardFixtures.EligibleCriteria()[0]] } },
        { "is not one of the 17", CardFixtures.Eligible() with { Criteria = [new CriterionResult("bmi", CriterionStatus.Pass, "ok", [])] } },
        { "Model.Sha256", CardFixtures.Eligible() with { Model = TestAssessments.ReferenceModel with { Sha256 = "ABC" } } },
        { "Model.ModelCardUrl", CardFixtures.Eligible() with { Model = TestAssessments.ReferenceModel with { ModelCardUrl = "file:///etc/passwd" } } },
        { "Trial.SmartAppUrl", CardFixtures.Eligible() with { Trial = new TrialLinks { SmartAppUrl = "not a url" } } },
        { "UnreadableData", CardFixtures.NotAssessed() with { UnreadableData = [] } },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_IsATypedErrorNamingTheProblem(string expectedInMessage, CardInput input)
    {
        var error = Assert.Throws<CardInputException>(() => CardBuilder.Build(input));
        Assert.Contains(expectedInMessage, error.Message);
    }

    private sealed class SameCard : IEqualityComparer<CardContent>
    {
        public bool Equals(CardContent? x, CardContent? y) => x?.Kind == y?.Kind && x?.Summary == y?.Summary && x?.Detail == y?.Detail;

        public int GetHashCode(CardContent obj) => obj.Summary.GetHashCode(StringComparison.Ordinal);
    }
}
