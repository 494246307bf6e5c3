using System.Text.RegularExpressions;
using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.UnitTests.WriteBack;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Cards;

public sealed class CardBuilderTests
{
    [Fact]
    public void Eligible_RecommendsEnrolmentBeforeSurgery_WithReferralAndCandidateSuggestions()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));

        Assert.Equal(CardKind.Eligible, card.Kind);
        Assert.Equal(CardIndicator.Warning, card.Indicator);
        Assert.Contains("PRE 0.73", card.Summary);
        Assert.Contains("neoadjuvant + adjuvant therapy pathway before surgery", card.Detail);
        Assert.Equal(SelectionBehavior.AtMostOne, card.SelectionBehavior);
        Assert.Equal(2, card.Suggestions.Count);

        var recommended = Assert.Single(card.Suggestions, s => s.IsRecommended);
        var referral = Assert.IsType<ServiceRequest>(recommended.Actions[0].Resource);
        Assert.Equal(ActionType.Create, recommended.Actions[0].Type);
        Assert.Equal(RequestStatus.Draft, referral.Status);
        Assert.Equal(RequestIntent.Order, referral.Intent);
        Assert.Equal("Patient/hcc-001", referral.Subject.Reference);
        Assert.Equal("Practitioner/surgeon-01", referral.Requester!.Reference);
        Assert.Equal(CardFixtures.RiskAssessment, Assert.Single(referral.ReasonReference).Reference);

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
    public void Eligible_LinksTheTrialPageAndTheConfiguredSmartApp()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        Assert.Contains(card.Links, l => l is { Type: LinkType.Absolute, Url: "https://clinicaltrials.gov/study/NCT07282184" });
        var smart = Assert.Single(card.Links, l => l.Type == LinkType.Smart);
        Assert.Equal("https://apps.example.org/pre-viewer/launch", smart.Url);
        Assert.Contains(CardFixtures.RiskAssessment, smart.AppContext);
    }

    [Fact]
    public void SmartLink_IsLeftOut_WhenNoAppIsConfigured()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { Trial = new TrialLinks() }));
        Assert.DoesNotContain(card.Links, l => l.Type == LinkType.Smart);
        Assert.Single(card.Links);
    }

    [Fact]
    public void Referral_UsesAReasonText_WhenNoRiskAssessmentWasWritten()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible() with { RiskAssessmentReference = null }));
        var referral = card.Suggestions.SelectMany(s => s.Actions).Select(a => a.Resource).OfType<ServiceRequest>().Single();
        Assert.Empty(referral.ReasonReference);
        Assert.Contains("PRE 0.73", Assert.Single(referral.ReasonCode).Text);
    }

    [Fact]
    public void LowRisk_IsOneInfoCard_WithoutSuggestions()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.LowRisk()));
        Assert.Equal(CardKind.LowRisk, card.Kind);
        Assert.Equal(CardIndicator.Info, card.Indicator);
        Assert.Empty(card.Suggestions);
        Assert.Null(card.SelectionBehavior);
        Assert.Empty(card.OverrideReasons);
        Assert.Contains("standard surgical pathway", card.Summary);
    }

    [Fact]
    public void Ineligible_ListsEachFailingCriterion_OnOneLine()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Ineligible()));
        Assert.Equal(CardKind.Ineligible, card.Kind);
        var bullets = card.Detail.Split('\n').Where(l => l.StartsWith("- **", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, bullets.Count);
        Assert.Contains(bullets, b => b.Contains("Age 18–75") && b.Contains("Age 78 is above 75"));
        Assert.Contains(bullets, b => b.Contains("NYHA III–IV") && b.Contains("NYHA class III recorded"));
        Assert.Contains("2 criteria not met", card.Summary);
    }

    [Fact]
    public void Ineligible_WithManyFailingCriteria_StillFitsTheSummaryLimit()
    {
        var criteria = CardFixtures.EligibleCriteria()
            .Select(c => c.Status == CriterionStatus.Pass ? c with { Status = CriterionStatus.Fail, Reason = "Not met." } : c)
            .ToList();
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Input(EligibilityOutcome.Ineligible, criteria, 0.73)));
        Assert.Equal(139, card.Summary.Length);
        Assert.EndsWith("…", card.Summary);
        Assert.Equal(12, card.Detail.Split('\n').Count(l => l.StartsWith("- **", StringComparison.Ordinal)));
    }

    [Fact]
    public void NeedsData_SaysExactlyWhatToRecord_AndNeverListsThePreAsAnItem()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.NeedsData()));
        Assert.Equal(CardKind.NeedsData, card.Kind);
        Assert.Contains("ECOG not recorded in the last 30 days: record ECOG performance status", card.Detail);
        Assert.Contains("No score: the MRI lacks the delayed phase.", card.Detail);
        // One missing phase is one item (the MRI), not two: the PRE waiting on it is said apart, not under "Please record".
        Assert.Contains("record 2 missing items", card.Summary);
        Assert.DoesNotContain("PRE", card.Summary, StringComparison.Ordinal);
        Assert.DoesNotContain("- **PRE score", card.Detail, StringComparison.Ordinal);
        Assert.Contains("Acquire or link the delayed phase of the pre-operative MRI", card.Detail);
    }

    [Fact]
    public void HypersensitivityCard_NamesTheRecordedAllergenTheOrderedDrugAndTheirRelation_WithoutTheCriteriaTable()
    {
        var card = CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity()).First(c => c.Kind == CardKind.RegimenHypersensitivity);
        Assert.Equal("Hypersensitivity recorded to oxaliplatin; carboplatin ordered: possible cross-reactivity", card.Summary);
        Assert.Contains("carboplatin ordered", card.Detail);
        Assert.Contains("hypersensitivity recorded to oxaliplatin", card.Detail);
        Assert.Contains("possible cross-reactivity (oxaliplatin and other platinum compounds)", card.Detail);
        // Both false statements of the review are gone, and a drug-safety alert carries no trial table or model section.
        Assert.DoesNotContain("Hypersensitivity recorded to carboplatin", card.Summary + card.Detail);
        Assert.DoesNotContain("belong to the", card.Detail);
        Assert.DoesNotContain("### Trial criteria", card.Detail);
        Assert.DoesNotContain("### Model", card.Detail);
        Assert.Equal(17, card.Extension.Criteria.Count);
    }

    [Fact]
    public void Pending_AsksToOpenTheChartAgain()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Pending()));
        Assert.Equal(CardKind.Pending, card.Kind);
        Assert.Contains("open the chart again", card.Summary);
        Assert.Null(card.Extension.Pre);
        Assert.Null(card.Extension.Risk);
    }

    [Fact]
    public void OrderSelect_ResectionForAnEligiblePatient_GivesOneWarningInsteadOfTheEligibleCard()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.OrderSelectResection()));
        Assert.Equal(CardKind.ResectionBeforeEnrolment, card.Kind);
        Assert.Equal(CardIndicator.Warning, card.Indicator);
        Assert.Contains("before scheduling the resection", card.Summary);
        Assert.Contains("Selected order: ServiceRequest/hepatectomy-draft.", card.Detail);
        Assert.NotEmpty(card.Suggestions);
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
    public void OrderSelect_HypersensitiveRegimenDrug_GivesACriticalCardFirst_WithARemoveSuggestion()
    {
        var cards = CardBuilder.Build(CardFixtures.OrderSelectHypersensitivity());
        Assert.Equal([CardKind.RegimenHypersensitivity, CardKind.Ineligible], cards.Select(c => c.Kind));
        var warning = cards[0];
        Assert.Equal(CardIndicator.Critical, warning.Indicator);
        Assert.Contains("oxaliplatin", warning.Summary);
        var action = Assert.Single(Assert.Single(warning.Suggestions).Actions);
        Assert.Equal(ActionType.Delete, action.Type);
        Assert.Equal("MedicationRequest/folfox-ox", action.ResourceId);
        Assert.Null(action.Resource);
    }

    [Fact]
    public void PatientView_IgnoresOrderSelections()
    {
        var input = CardFixtures.OrderSelectResection() with { Hook = CardBuilder.PatientView };
        Assert.Equal(CardKind.Eligible, Assert.Single(CardBuilder.Build(input)).Kind);
    }

    [Fact]
    public void Detail_HasATableRowForEachOfThe17Criteria_EvenWhenSomeWereNotEvaluated()
    {
        var input = CardFixtures.Pending() with
        {
            Criteria = [new CriterionResult(CriterionIds.PreScore, CriterionStatus.Unknown, "Score being computed.", [])],
        };
        var card = Assert.Single(CardBuilder.Build(input));
        var rows = card.Detail.Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.Equal(17, rows.Count);
        Assert.Equal(16, rows.Count(r => r.Contains("| not evaluated |")));
        Assert.All(CriterionIds.All, id => Assert.Contains(rows, r => r.Contains(CardText.EscapeCell(CardCodes.CriterionLabel(id)))));
    }

    [Fact]
    public void Detail_EscapesPipesAndMarkdownInEvidence_SoTheTableKeepsFourColumns()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Ineligible()));
        var row = card.Detail.Split('\n').Single(l => l.StartsWith("| No NYHA", StringComparison.Ordinal));
        Assert.Contains("Class III \\| moderate\\*", row);
        Assert.Equal(5, Regex.Count(row, @"(?<!\\)\|"));
    }

    [Fact]
    public void Detail_NamesTheModel_AndForTheReferenceModelSaysItIsNotForClinicalUse()
    {
        var card = Assert.Single(CardBuilder.Build(CardFixtures.Eligible()));
        Assert.Contains("Model cdsrisk-pre, version 1.0.0", card.Detail);
        Assert.Contains("imputed with the training mean: platelet count.", card.Detail);
        Assert.Contains(TestAssessments.Sha, card.Detail);
        Assert.Contains("trained on synthetic data only. Not for clinical use.", card.Detail);

        var production = CardFixtures.Eligible() with { Model = TestAssessments.ReferenceModel with { IsReferenceModel = false } };
        Assert.DoesNotContain("synthetic data", Assert.Single(CardBuilder.Build(production)).Detail);
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

    [Fact]
    public void Extension_CarriesOutcomeScoreModelAndAllCriteria()
    {
        var ext = Assert.Single(CardBuilder.Build(CardFixtures.Eligible())).Extension;
        Assert.Equal("eligible", ext.Outcome);
        Assert.Equal(0.73, ext.Pre);
        Assert.Equal("high", ext.Risk);
        Assert.Equal(CriterionIds.All, ext.Criteria.Select(c => c.Id));
        Assert.Equal(CardFixtures.RiskAssessment, ext.RiskAssessment);
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
        { "contradicts a failing, unknown or pending criterion", CardFixtures.Ineligible() with { Outcome = EligibilityOutcome.Eligible } },
        { "appears twice", CardFixtures.Eligible() with { Criteria = [.. CardFixtures.EligibleCriteria(), CardFixtures.EligibleCriteria()[0]] } },
        { "is not one of the 17", CardFixtures.Eligible() with { Criteria = [new CriterionResult("bmi", CriterionStatus.Pass, "ok", [])] } },
        { "Model.Sha256", CardFixtures.Eligible() with { Model = TestAssessments.ReferenceModel with { Sha256 = "ABC" } } },
        { "Model.ModelCardUrl", CardFixtures.Eligible() with { Model = TestAssessments.ReferenceModel with { ModelCardUrl = "file:///etc/passwd" } } },
        { "Trial.SmartAppUrl", CardFixtures.Eligible() with { Trial = new TrialLinks { SmartAppUrl = "not a url" } } },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_IsATypedErrorNamingTheProblem(string expectedInMessage, CardInput input)
    {
        var error = Assert.Throws<CardInputException>(() => CardBuilder.Build(input));
        Assert.Contains(expectedInMessage, error.Message);
    }
}
