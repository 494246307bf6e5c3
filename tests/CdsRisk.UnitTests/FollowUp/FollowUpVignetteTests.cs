using CdsRisk.Core.Cards;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.FollowUp;
using CdsRisk.UnitTests.Cards;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.FollowUp;

/// <summary>Issue 17's vignettes: each asserts the cards and the followUp extension they carry.</summary>
public sealed class FollowUpVignetteTests
{
    private static readonly EligibilityData Data = EligibilityData.LoadEmbedded();
    private static readonly EligibilityEngine Eligibility = new(Data);
    private static readonly FollowUpEngine Engine = new(Data);
    private static readonly DateTimeOffset A = FollowUpRecords.Resection;

    private static (FollowUpResult Result, IReadOnlyList<CardContent> Cards) Run(FollowUpRecords records, DateTimeOffset at)
    {
        var record = records.Build();
        var enrolment = Engine.Enrolment(record, []);
        Assert.Equal(EnrolmentState.OnStudy, enrolment.State);
        var result = Engine.Evaluate(record, Eligibility.Snapshot(record, at), enrolment, at);
        var input = CardFixtures.Input(EligibilityOutcome.OnStudy, [.. result.Exclusions], null);
        var cards = CardBuilder.BuildFollowUp(input, result);

        // On the wire (the one mapping production uses): outcome on-study, the followUp object and the post-operative criteria.
        var wire = CdsRisk.Api.Pipeline.HookCards.FollowUpCards(input, result);
        Assert.Equal(cards.Select(c => c.Uuid.ToString("D")), wire.Select(c => c.Uuid));
        Assert.All(wire, c => Assert.Equal(EligibilityOutcome.OnStudy, c.Extension!.CdsRisk!.Outcome));
        Assert.All(wire, c => Assert.Equal(result.Items.Count, c.Extension!.CdsRisk!.FollowUp!.Items!.Count));
        Assert.All(wire, c => Assert.Equal(result.Exclusions.Select(e => e.Id).Order(), c.Extension!.CdsRisk!.Criteria.Keys.Order()));
        return (result, cards);
    }

    private static FollowUpItem Item(FollowUpResult r, string id) => Assert.Single(r.Items, i => i.Id == id);

    [Fact]
    public void OnStudy_EveryItemDone_CardSaysUpToDateAndNamesTheNextItem()
    {
        var records = FollowUpRecords.OnStudy().Visit(A.AddDays(30), mri: false, afp: false).Visit(A.AddMonths(3).AddDays(1)).Visit(A.AddMonths(6).AddDays(-2));
        var (result, cards) = Run(records, new DateTimeOffset(2026, 8, 10, 9, 0, 0, TimeSpan.Zero));

        Assert.Equal("Procedure/resection-1", result.Anchor!.Reference);
        Assert.Equal(24, result.Items.Count);
        Assert.All(result.Items.Where(i => i.Id.StartsWith("m3-", StringComparison.Ordinal) || i.Id.StartsWith("m6-", StringComparison.Ordinal)),
            i => Assert.Equal(FollowUpItemStatus.Done, i.Status));
        Assert.NotEmpty(Item(result, "m6-imaging").Evidence);
        Assert.Equal(FollowUpItemStatus.Upcoming, Item(result, "m9-afp").Status);
        Assert.Equal(new DateOnly(2026, 10, 15), Item(result, "m9-afp").Due);
        Assert.Empty(result.Signals);
        var card = Assert.Single(cards);
        Assert.Equal(CardKind.FollowUp, card.Kind);
        Assert.Equal(CardIndicator.Info, card.Indicator);
        Assert.StartsWith("On NCT07282184: follow-up up to date; next", card.Summary, StringComparison.Ordinal);
        Assert.Contains("2026-10-15", card.Summary, StringComparison.Ordinal);
        // Day 207 after surgery, contacts on record: the early death or loss criterion is settled, not met.
        Assert.Equal(CriterionStatus.Pass, Assert.Single(result.Exclusions, e => e.Id == CriterionIds.EarlyDeathOrLoss).Status);
    }

    [Fact]
    public void OneOverdueMri_IsOverdueOnTheCardAndInTheExtension()
    {
        var records = FollowUpRecords.OnStudy().Visit(A.AddMonths(3)).Visit(A.AddMonths(6), mri: false);
        var (result, cards) = Run(records, new DateTimeOffset(2026, 8, 10, 9, 0, 0, TimeSpan.Zero));

        var mri = Item(result, "m6-imaging");
        Assert.Equal(FollowUpItemStatus.Overdue, mri.Status);
        Assert.Empty(mri.Evidence);
        Assert.Equal(FollowUpItemStatus.Done, Item(result, "m6-afp").Status);
        var card = Assert.Single(cards);
        Assert.Equal(CardIndicator.Warning, card.Indicator);
        Assert.Equal("On NCT07282184 follow-up: 1 overdue", card.Summary);
        Assert.Contains("**Overdue**: contrast MRI or CT of the liver (month 6) — due 2026-07-15", card.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void ItemInsideItsWindow_IsDueNotOverdue()
    {
        var records = FollowUpRecords.OnStudy().Visit(A.AddMonths(3));
        var (result, cards) = Run(records, new DateTimeOffset(2026, 7, 10, 9, 0, 0, TimeSpan.Zero));

        Assert.Equal(FollowUpItemStatus.Due, Item(result, "m6-imaging").Status);
        Assert.Equal(new DateOnly(2026, 7, 29), Item(result, "m6-imaging").WindowEnd);
        Assert.DoesNotContain(result.Items, i => i.Status == FollowUpItemStatus.Overdue);
        var card = Assert.Single(cards);
        Assert.Equal(CardIndicator.Info, card.Indicator);
        Assert.Equal("On NCT07282184 follow-up: 3 due now", card.Summary);
        Assert.Contains("**Due**: AFP (month 6) — by 2026-07-29", card.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Grade3AltRiseDuringTherapy_WarnsWithADraftPotentialAdverseEvent()
    {
        var at = new DateTimeOffset(2026, 3, 10, 9, 0, 0, TimeSpan.Zero);
        var records = FollowUpRecords.OnStudy()
            .Lab("777-3", 180m, "10*9/L", at.AddDays(-7)).Lab("1975-2", 12m, "umol/L", at.AddDays(-7), 21m)
            .Oxaliplatin(at.AddDays(-6))
            .Lab("1742-6", 250m, "U/L", at.AddDays(-1), 40m);
        var (result, cards) = Run(records, at);

        Assert.True(result.OnProtocolTherapy);
        var signal = Assert.Single(result.Signals);
        Assert.Equal("alt-increased", signal.Id);
        Assert.Equal(3, signal.Grade);
        Assert.Contains("6.3 × ULN (40 U/L, reference range)", signal.Reason, StringComparison.Ordinal);
        Assert.StartsWith("Observation/", signal.Evidence[0].Reference, StringComparison.Ordinal);
        Assert.Equal(FollowUpItemStatus.Done, Item(result, "cycle-1-labs").Status);

        Assert.Equal(2, cards.Count);
        var warning = cards[0];
        Assert.Equal(CardKind.SafetySignal, warning.Kind);
        Assert.Equal(CardIndicator.Warning, warning.Indicator);
        Assert.Equal("Possible grade 3 adverse event — assess and report per protocol", warning.Summary);
        var action = Assert.Single(Assert.Single(warning.Suggestions).Actions);
        var draft = Assert.IsType<AdverseEvent>(action.Resource);
        Assert.Equal(AdverseEvent.AdverseEventActuality.Potential, draft.Actuality);
        Assert.Equal("Patient/hcc-001", draft.Subject.Reference);
        Assert.Null(draft.Severity);
        Assert.Null(draft.Seriousness);
        Assert.Equal(CardKind.FollowUp, cards[1].Kind);
    }

    [Fact]
    public void PostOperativeCholangiocarcinoma_MeetsNonHccPathologyWithTheEvidence()
    {
        var records = FollowUpRecords.OnStudy();
        records.Observations.Add(new Observation
        {
            Id = "path-1",
            Status = ObservationStatus.Final,
            Code = new CodeableConcept("http://loinc.org", "22637-3"),
            Effective = new FhirDateTime(A.AddDays(6)),
            Value = new CodeableConcept("http://snomed.info/sct", "312104005", "Cholangiocarcinoma"),
        });
        var (result, cards) = Run(records, A.AddDays(20));

        var nonHcc = Assert.Single(result.Exclusions, e => e.Id == CriterionIds.NonHccPathology);
        Assert.Equal(CriterionStatus.Fail, nonHcc.Status);
        Assert.Equal("Observation/path-1", Assert.Single(nonHcc.Evidence).Reference);
        var card = Assert.Single(cards, c => c.Kind == CardKind.PostOperativeExclusion);
        Assert.Equal("NCT07282184 exclusion met: non-HCC pathology — inform the trial team", card.Summary);
        Assert.Contains("Cholangiocarcinoma", card.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("Observation/", card.Detail, StringComparison.Ordinal); // no record ids on a card: they are in the extension
    }

    [Fact]
    public void DeathAtDay60_SettlesEarlyDeathOrLoss()
    {
        var records = FollowUpRecords.OnStudy();
        records.Patient.Deceased = new FhirDateTime(A.AddDays(60));
        var (result, cards) = Run(records, A.AddDays(70));

        var early = Assert.Single(result.Exclusions, e => e.Id == CriterionIds.EarlyDeathOrLoss);
        Assert.Equal(CriterionStatus.Fail, early.Status);
        Assert.Contains("Death on day 60 after surgery", early.Reason, StringComparison.Ordinal);
        Assert.Contains("settled", early.Reason, StringComparison.Ordinal);
        var card = Assert.Single(cards, c => c.Kind == CardKind.PostOperativeExclusion);
        Assert.Contains("early death or loss", card.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public void NoContactWithin90Days_SettlesEarlyDeathOrLossAsLost()
    {
        var (result, _) = Run(FollowUpRecords.OnStudy(), A.AddDays(120));
        var early = Assert.Single(result.Exclusions, e => e.Id == CriterionIds.EarlyDeathOrLoss);
        Assert.Equal(CriterionStatus.Fail, early.Status);
        Assert.Contains("No contact on record within 90 days", early.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void BeforeDay90_EarlyDeathOrLossIsToBeConfirmedWithTheDate()
    {
        var (result, _) = Run(FollowUpRecords.OnStudy().Visit(A.AddDays(30)), A.AddDays(40));
        var early = Assert.Single(result.Exclusions, e => e.Id == CriterionIds.EarlyDeathOrLoss);
        Assert.Equal(CriterionStatus.ToBeConfirmed, early.Status);
        Assert.Contains("settled on 2026-04-15", early.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Withdrawn_IsOffStudy_SoNoTrialCard()
    {
        var record = FollowUpRecords.OnStudy(ResearchSubject.ResearchSubjectStatus.Withdrawn).Build();
        var enrolment = Engine.Enrolment(record, []);
        Assert.Equal(EnrolmentState.OffStudy, enrolment.State);
        Assert.Equal("withdrawn", enrolment.Status);
        Assert.Throws<CardInputException>(() => CardBuilder.BuildFollowUp(
            CardFixtures.Input(EligibilityOutcome.OnStudy, [], null),
            new FollowUpResult { Enrolment = enrolment, EvaluatedAt = A, Exclusions = [] }));
    }

    [Theory]
    [InlineData(ResearchSubject.ResearchSubjectStatus.OnStudy, EnrolmentState.OnStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.OnStudyIntervention, EnrolmentState.OnStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.OnStudyObservation, EnrolmentState.OnStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.FollowUp, EnrolmentState.OnStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.Withdrawn, EnrolmentState.OffStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.OffStudy, EnrolmentState.OffStudy)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.Candidate, EnrolmentState.NotEnrolled)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.PendingOnStudy, EnrolmentState.NotEnrolled)]
    [InlineData(ResearchSubject.ResearchSubjectStatus.Eligible, EnrolmentState.NotEnrolled)]
    public void ResearchSubjectR4Status_MapsToTheEnrolmentState(ResearchSubject.ResearchSubjectStatus status, EnrolmentState expected) =>
        Assert.Equal(expected, Engine.Enrolment(FollowUpRecords.OnStudy(status).Build(), []).State);

    [Fact]
    public void ResearchSubjectOfAnotherStudy_IsNotThisTrial_UnlessItsReferenceIsConfigured()
    {
        var records = FollowUpRecords.OnStudy();
        records.Subjects[0].Study = new ResourceReference("ResearchStudy/rs-site-7");
        Assert.Equal(EnrolmentState.NotEnrolled, Engine.Enrolment(records.Build(), []).State);
        Assert.Equal(EnrolmentState.OnStudy, Engine.Enrolment(records.Build(), ["ResearchStudy/rs-site-7"]).State);
        Assert.Equal(EnrolmentState.NotEnrolled, Engine.Enrolment(records.Build(), ["ResearchStudy/rs-site-77"]).State);
    }

    [Fact]
    public void ProtocolFile_FollowUpSection_BadValueNamesItsPath()
    {
        var json = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "src", "CdsRisk.Core", "Eligibility", "Data", EligibilityData.ProtocolFileName))
            .Replace("\"windowDays\": 14", "\"windowDays\": 400", StringComparison.Ordinal);
        var e = Assert.Throws<EligibilityDataException>(() => FollowUpSettings.Parse(json, "protocol.json"));
        Assert.Equal("$.followUp.windowDays", e.JsonPath);
        Assert.Equal(14, Data.FollowUp.WindowDays);
        Assert.Equal(3, Data.FollowUp.IntervalMonths);
    }
}
