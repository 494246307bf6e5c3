using CdsRisk.Api.FollowUp;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.FollowUp;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.FollowUp;

/// <summary>
/// Issue 17 items 4 and 5: a drug named by <c>medicationReference</c> (contained, or a Medication read with the record) is read like
/// <c>medicationCodeableConcept</c>; the on-study decision reads the subject's ResearchStudy and checks its identifier.
/// </summary>
public sealed class FollowUpReferenceTests
{
    private static readonly EligibilityData Data = EligibilityData.LoadEmbedded();
    private static readonly EligibilityEngine Eligibility = new(Data);
    private static readonly FollowUpEngine Engine = new(Data);
    private static readonly DateTimeOffset At = new(2026, 3, 10, 9, 0, 0, TimeSpan.Zero);
    private static readonly CodeableConcept OxaliplatinCode = new("http://www.nlm.nih.gov/research/umls/rxnorm", "32592", "oxaliplatin");
    private static readonly CodeableConcept LenvatinibAtc = new("http://www.whocc.no/atc", "L01EX08", "lenvatinib");

    private static FollowUpResult Evaluate(FollowUpRecords records)
    {
        var record = records.Build();
        var enrolment = Engine.Enrolment(record, []);
        Assert.Equal(EnrolmentState.OnStudy, enrolment.State);
        return Engine.Evaluate(record, Eligibility.Snapshot(record, At), enrolment, At);
    }

    /// <summary>An oxaliplatin cycle 6 days ago whose drug is a reference, and an ALT of 6.3 × ULN yesterday.</summary>
    private static FollowUpRecords OxaliplatinBy(ResourceReference medication, Medication? contained = null)
    {
        var records = FollowUpRecords.OnStudy()
            .Lab("777-3", 180m, "10*9/L", At.AddDays(-7)).Lab("1975-2", 12m, "umol/L", At.AddDays(-7), 21m)
            .Lab("1742-6", 250m, "U/L", At.AddDays(-1), 40m);
        var administration = new MedicationAdministration
        {
            Id = "ma-ref",
            Status = MedicationAdministration.MedicationAdministrationStatusCodes.Completed,
            Medication = medication,
            Subject = new ResourceReference("Patient/fu-001"),
            Effective = new FhirDateTime(At.AddDays(-6)),
        };
        if (contained is not null)
        {
            administration.Contained.Add(contained);
        }

        records.Administrations.Add(administration);
        return records;
    }

    [Fact]
    public void MedicationReference_Contained_IsReadLikeMedicationCodeableConcept()
    {
        var result = Evaluate(OxaliplatinBy(new ResourceReference("#oxa"), new Medication { Id = "oxa", Code = OxaliplatinCode }));

        Assert.True(result.OnProtocolTherapy);
        Assert.Equal(3, Assert.Single(result.Signals).Grade);
        Assert.Contains(result.Items, i => i.Id == "cycle-1-labs" && i.Status == FollowUpItemStatus.Done);
    }

    [Theory]
    [InlineData("Medication/oxa-7")]
    [InlineData("Medication/oxa-7/_history/2")]
    [InlineData("https://ehr.example.org/fhir/Medication/oxa-7")]
    public void MedicationReference_ToAMedicationReadWithTheRecord_IsReadLikeMedicationCodeableConcept(string reference)
    {
        var records = OxaliplatinBy(new ResourceReference(reference));
        records.Medications.Add(new Medication { Id = "oxa-7", Code = OxaliplatinCode });

        var result = Evaluate(records);

        Assert.True(result.OnProtocolTherapy);
        Assert.Equal("alt-increased", Assert.Single(result.Signals).Id);
        Assert.Contains(result.Items, i => i.Id == "cycle-1-labs");
    }

    [Fact]
    public void MedicationReference_NotRead_IsNoTherapy_AndNoSignal()
    {
        var records = OxaliplatinBy(new ResourceReference("Medication/oxa-7"));
        records.Medications.Add(new Medication { Id = "other", Code = OxaliplatinCode });

        var result = Evaluate(records);

        Assert.False(result.OnProtocolTherapy);
        Assert.Empty(result.Signals);
        Assert.DoesNotContain(result.Items, i => i.Id.StartsWith("cycle-", StringComparison.Ordinal));
    }

    [Fact]
    public void MedicationRequestByReference_LenvatinibByAtc_ReadsTheLenvatinibSignals()
    {
        var records = FollowUpRecords.OnStudy();
        records.Requests.Add(new MedicationRequest
        {
            Id = "mr-len",
            Status = MedicationRequest.MedicationrequestStatus.Active,
            Intent = MedicationRequest.MedicationRequestIntent.Order,
            Medication = new ResourceReference("Medication/len-1"),
            Subject = new ResourceReference("Patient/fu-001"),
        });
        records.Medications.Add(new Medication { Id = "len-1", Code = LenvatinibAtc });

        var result = Evaluate(records);

        Assert.True(result.OnProtocolTherapy);
    }

    [Theory]
    [InlineData("https://clinicaltrials.gov")]
    [InlineData("http://clinicaltrials.gov")]
    public void ResearchSubject_OfAReadResearchStudyWithTheTrialIdentifier_IsOnStudy(string system)
    {
        var records = FollowUpRecords.OnStudy();
        records.Subjects[0].Study = new ResourceReference("ResearchStudy/site-study-9");
        records.ResearchStudies.Add(new ResearchStudy { Id = "site-study-9", Identifier = [new Identifier(system, "NCT07282184")] });

        var enrolment = Engine.Enrolment(records.Build(), []);

        Assert.Equal(EnrolmentState.OnStudy, enrolment.State);
        Assert.Equal("ResearchSubject/rs-1", enrolment.Reference);
    }

    [Theory]
    [InlineData("https://clinicaltrials.gov", "NCT01234567")]
    [InlineData("urn:oid:2.16.840.1.113883.3.1077", "NCT07282184")]
    public void ResearchSubject_OfAnotherStudy_IsNotOnStudy(string system, string value)
    {
        var records = FollowUpRecords.OnStudy();
        records.Subjects[0].Study = new ResourceReference("ResearchStudy/site-study-9");
        records.ResearchStudies.Add(new ResearchStudy { Id = "site-study-9", Identifier = [new Identifier(system, value)] });

        Assert.Equal(EnrolmentState.NotEnrolled, Engine.Enrolment(records.Build(), []).State);
    }

    [Fact]
    public void ResearchSubject_WhoseStudyWasNotRead_IsNotOnStudy_UnlessTheReferenceIsConfigured()
    {
        var records = FollowUpRecords.OnStudy();
        records.Subjects[0].Study = new ResourceReference("ResearchStudy/site-study-9");
        records.ResearchStudies.Add(new ResearchStudy { Id = "site-study-10", Identifier = [new Identifier("https://clinicaltrials.gov", "NCT07282184")] });

        Assert.Equal(EnrolmentState.NotEnrolled, Engine.Enrolment(records.Build(), []).State);
        Assert.Equal(EnrolmentState.OnStudy, Engine.Enrolment(records.Build(), ["ResearchStudy/site-study-9"]).State);
    }

    [Fact]
    public void ResearchSubject_OfAContainedTrialStudy_IsOnStudy()
    {
        var records = FollowUpRecords.OnStudy();
        records.Subjects[0].Study = new ResourceReference("#s");
        records.Subjects[0].Contained.Add(new ResearchStudy { Id = "s", Identifier = [new Identifier("http://clinicaltrials.gov", "NCT07282184")] });

        Assert.Equal(EnrolmentState.OnStudy, Engine.Enrolment(records.Build(), []).State);
    }

    [Theory]
    [InlineData("Medication/abc", "Medication", "abc")]
    [InlineData("Medication/abc/_history/3", "Medication", "abc")]
    [InlineData("https://ehr.example.org/fhir/Medication/abc", "Medication", "abc")]
    [InlineData("ResearchStudy/abc", "Medication", null)]
    [InlineData("#abc", "Medication", null)]
    [InlineData("urn:uuid:9d1f5b6e-0000-4000-8000-000000000001", "Medication", null)]
    [InlineData("abc", "Medication", null)]
    public void ReferenceId_ReadsTypeAndId(string reference, string type, string? expected) =>
        Assert.Equal(expected, FhirReferences.IdOf(reference, type));

    [Fact]
    public void SweepContentHash_ChangesWithTheFollowUp_NotWithTheDayCount()
    {
        // Day 40 and day 41 after surgery: the early-death criterion's reason names the day; nothing else changed.
        var records = FollowUpRecords.OnStudy();
        var record = records.Build();
        var enrolment = Engine.Enrolment(record, []);
        FollowUpResult On(DateTimeOffset at) => Engine.Evaluate(record, Eligibility.Snapshot(record, at), enrolment, at);
        var day40 = On(FollowUpRecords.Resection.AddDays(40));
        var day41 = On(FollowUpRecords.Resection.AddDays(41));
        Assert.NotEqual(day40.Exclusions.Single(e => e.Id == CriterionIds.EarlyDeathOrLoss).Reason, day41.Exclusions.Single(e => e.Id == CriterionIds.EarlyDeathOrLoss).Reason);
        Assert.Equal(FollowUpSweeper.FollowUpContentHash(day40), FollowUpSweeper.FollowUpContentHash(day41));

        // Day 100: the month-3 items are due now, and the criterion is settled: a change.
        Assert.NotEqual(FollowUpSweeper.FollowUpContentHash(day41), FollowUpSweeper.FollowUpContentHash(On(FollowUpRecords.Resection.AddDays(100))));
    }
}
