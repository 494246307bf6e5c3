using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Cards;
using CdsRisk.TestSupport;
using CdsRisk.UnitTests.Eligibility;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Cards;

/// <summary>
/// Issue 14 sections 1 and 4 on every card the vignettes produce, in every hook: no wording that directs treatment or an operation,
/// no internal words, UIDs, hashes, record ids or criterion ids where a person reads them. The scanner itself is shown to find
/// the wording the clinical review found, so a pass means something.
/// </summary>
public sealed class CardWordingTests
{
    public static TheoryData<string> Vignettes() => [.. Vignette.Names()];

    [Theory]
    [MemberData(nameof(Vignettes))]
    public void DirectiveWording_NoCardOfAnyVignette_InAnyHook_TellsAnyoneToStartGiveDelayOrWithholdATreatmentOrAnOperation(string vignette)
    {
        var problems = new List<string>();
        foreach (var (hook, orders) in Hooks())
        {
            var response = VignetteCards.Json(VignetteCards.Answer(vignette, hook, orders));
            problems.AddRange(CardWording.Problems(response).Select(p => $"{hook}: {p}"));
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Theory]
    [MemberData(nameof(Vignettes))]
    public void InternalWords_NoCardOfAnyVignette_ShowsUnitsCodesUidsRecordIdsOrCriterionIds(string vignette)
    {
        var response = VignetteCards.Json(VignetteCards.Answer(vignette, unreadable: vignette == "01-base-eligible" ? ["Condition"] : null));
        var problems = CardWording.Problems(response).Where(p => !p.Contains("directive", StringComparison.Ordinal)).ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void DirectiveWording_EveryCardOfTheFixtures_WithTheReferenceAndAProductionModel_IsClean()
    {
        foreach (var (name, input) in CardFixtures.All())
        {
            foreach (var model in new[] { input.Model, input.Model with { IsReferenceModel = false } })
            {
                var response = VignetteCards.Json(new Api.Hooks.CdsServiceResponse { Cards = HookCards.Cards(input with { Model = model }) });
                var problems = CardWording.Problems(response);
                Assert.True(problems.Count == 0, $"{name}:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
            }
        }
    }

    /// <summary>The texts the clinical review found on the cards before this change: each must be flagged.</summary>
    public static TheoryData<string> ReviewedWording() =>
    [
        "High recurrence risk (PRE 0.99): offer NCT07282184 enrolment and neoadjuvant therapy before surgery",
        "Eligible for NCT07282184 (PRE 0.73): enrol and start neoadjuvant therapy before scheduling the resection",
        "refer the patient for enrolment **before the resection is scheduled**, or record why not.",
        "Low recurrence risk (PRE 0.21 < 0.50): standard surgical pathway, NCT07282184 not indicated",
        "Referral to the NCT07282184 trial team for enrolment and neoadjuvant therapy before surgery.",
        "Assess for NCT07282184 enrolment and the neoadjuvant + adjuvant pathway before surgery is scheduled.",
        "Order or schedule the curative liver resection",
        "Delay the hepatectomy until the trial team has seen the patient",
        "Hold the resection order",
        "Withhold chemotherapy",
        "Give lenvatinib as neoadjuvant treatment",
    ];

    [Theory]
    [MemberData(nameof(ReviewedWording))]
    public void DirectiveWording_TheScannerFlagsTheWordingTheReviewFound(string text) =>
        Assert.Contains(CardWording.Problems(text, displayed: true), p => p.StartsWith("directive", StringComparison.Ordinal));

    public static TheoryData<string, string> InternalText() => new()
    {
        { "PhaseMissing: delayed", "internal word" },
        { "Bilirubin 14 umol/L", "internal word" },
        { "INR 1.1 {INR}", "internal word" },
        { "eGFR 80 mL/min/{1.73_m2}", "internal word" },
        { "Child-Pugh: 1 point(s)", "internal word" },
        { "ascites: None", "internal word" },
        { "series 1.2.826.0.1.3680043.8.498.1234567890", "UID" },
        { "Model x, SHA-256 `3f7a0c1d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a21`", "UID or hash" },
        { "see mri-4-phase", "criterion id" },
        { "Selected order: ServiceRequest/hepatectomy-draft.", "record id" },
    };

    [Theory]
    [MemberData(nameof(InternalText))]
    public void InternalWords_TheScannerFlagsWhatTheReviewFound(string text, string finding) =>
        Assert.Contains(CardWording.Problems(text, displayed: true), p => p.Contains(finding, StringComparison.Ordinal));

    [Fact]
    public void Scanner_AcceptsTheWordsTheCardsUse()
    {
        string[] clean =
        [
            "Potential candidate for NCT07282184 (PRE 0.73): refer to the trial team for screening [reference model — not for clinical use]",
            "Not a candidate for NCT07282184: PRE 0.21 below the trial's threshold 0.50",
            "the trial enrols patients planned for curative-intent resection, so this order is the moment to refer the patient to the trial team for screening",
            "Liver resection scheduled: Partial hepatectomy (service request, 2026-06-25)",
            "Child-Pugh 5 (A5), ALBI grade 1 (-2.91): protocol admits ≤ 7",
            "PRE 0.73, at or above the trial's threshold 0.50",
        ];
        Assert.All(clean, text => Assert.Empty(CardWording.Problems(text, displayed: true)));
    }

    private static IEnumerable<(string Hook, Func<string, Resource[]>? Orders)> Hooks()
    {
        yield return (CardBuilder.PatientView, null);
        yield return (CardBuilder.OrderSelect, p => [VignetteCards.Hepatectomy(p)]);
        yield return (CardBuilder.OrderSelect, p => [VignetteCards.Carboplatin(p)]);
        yield return (CardBuilder.OrderSign, p => [VignetteCards.Hepatectomy(p), VignetteCards.Carboplatin(p)]);
    }
}
