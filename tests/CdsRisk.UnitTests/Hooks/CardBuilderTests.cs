using CdsRisk.Api.Hooks;
using CdsRisk.Api.Pipeline;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;

namespace CdsRisk.UnitTests.Hooks;

public sealed class CardBuilderTests
{
    private static readonly HookInvocation Invocation = new()
    {
        ServiceId = CdsServiceCatalog.PatientViewId,
        Hook = "patient-view",
        HookInstance = Guid.Parse("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"),
        PatientId = "p1",
        UserId = "Practitioner/123",
    };

    private static RiskEvaluation Evaluation(EligibilityOutcome outcome, double? pre = null) => new()
    {
        Outcome = outcome,
        PreScore = pre,
        Criteria = [.. CriterionIds.All.Select(id => new CriterionResult(id, CriterionStatus.Pass, "ok | fine\nyes", []))],
    };

    [Fact]
    public void StableUuid_IsAVersion5UuidThatDependsOnInstanceAndKind()
    {
        var a = CardBuilder.StableUuid(Invocation.HookInstance, "k");
        var text = a.ToString();

        Assert.Equal(a, CardBuilder.StableUuid(Invocation.HookInstance, "k"));
        Assert.NotEqual(a, CardBuilder.StableUuid(Invocation.HookInstance, "other"));
        Assert.NotEqual(a, CardBuilder.StableUuid(Guid.NewGuid(), "k"));
        Assert.Equal('5', text[14]);
        Assert.Contains(text[19], "89ab");
    }

    [Theory]
    [InlineData(EligibilityOutcome.Eligible, "warning")]
    [InlineData(EligibilityOutcome.Ineligible, "info")]
    [InlineData(EligibilityOutcome.NeedsData, "info")]
    [InlineData(EligibilityOutcome.Pending, "info")]
    [InlineData(EligibilityOutcome.LowRisk, "info")]
    public void EveryOutcome_GivesOneCardWithAShortSummaryAndTheExtension(EligibilityOutcome outcome, string indicator)
    {
        var card = Assert.Single(CardBuilder.Build(Invocation, Evaluation(outcome, 0.987654)));

        Assert.Equal(indicator, card.Indicator);
        Assert.True(card.Summary.Length < 140, card.Summary);
        Assert.Equal(outcome.ToWire(), card.Extension!.CdsRisk.Outcome);
        Assert.Equal(17, card.Extension.CdsRisk.Criteria.Count);
        Assert.Contains("ok \\| fine yes", card.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void NotApplicable_GivesNoCards() =>
        Assert.Empty(CardBuilder.Build(Invocation, Evaluation(EligibilityOutcome.Ineligible) with { IsApplicable = false }));

    [Fact]
    public async Task ProvisionalEvaluator_LeavesEveryCriterionUnknown()
    {
        var evaluation = await new NotYetWiredRiskEvaluator().EvaluateAsync(new PatientRecord { Patient = new Hl7.Fhir.Model.Patient() }, Invocation, CancellationToken.None);

        Assert.Equal(EligibilityOutcome.NeedsData, evaluation.Outcome);
        Assert.Equal(CriterionIds.All, evaluation.Criteria.Select(c => c.Id));
        Assert.All(evaluation.Criteria, c => Assert.Equal(CriterionStatus.Unknown, c.Status));
    }
}
