using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;

namespace CdsRisk.UnitTests.Eligibility;

public sealed class EligibilityEngineTests
{
    private static readonly DateTimeOffset At = new(2026, 6, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly EligibilityData Data = EligibilityData.LoadEmbedded();
    private static readonly EligibilityEngine Engine = new(Data);

    private static PatientRecord Base() => Vignette.Record("01-base-eligible");

    private static readonly MriAssessment ImagesRead = new(CriterionStatus.Pass, "all four phases found and readable (4 volumes)", []);

    // A computed PRE means the images were read and accepted: unless a test says otherwise, the MRI assessment is then a pass.
    private static EligibilityInputs Inputs(PreScoreState? pre = null, MriAssessment? mri = null) =>
        new(At, pre ?? PreScoreState.Computed(0.72), mri ?? (pre is null or { Status: PreScoreStatus.Computed } ? ImagesRead : null));

    [Fact]
    public void Eligible_ListsEveryCriterionWithEvidence()
    {
        var r = Engine.Evaluate(Base(), Inputs());
        Assert.Equal(EligibilityOutcome.Eligible, r.Outcome);
        Assert.Empty(r.FailingCriteria);
        Assert.Empty(r.ToRecord);
        Assert.Equal("NCT07282184 1.2.0", r.ProtocolVersion);
        Assert.Contains(r[CriterionIds.ChildPugh].Evidence, e => e.Reference == "Observation/bili" && e.Value == "0.8 mg/dL");
        Assert.Contains(r[CriterionIds.Ecog].Evidence, e => e.Reference == "Observation/ecog" && e.Date == new DateTimeOffset(2026, 6, 5, 8, 0, 0, TimeSpan.Zero));
        Assert.Contains(r[CriterionIds.ResectionScheduled].Evidence, e => e.Reference == "ServiceRequest/resect");
        Assert.All(r.Criteria.Where(c => c.Status == CriterionStatus.Pass), c => Assert.False(string.IsNullOrWhiteSpace(c.Reason)));
    }

    [Fact]
    public void PendingPre_WithOtherDataMissing_IsNeedsDataNotPending()
    {
        var record = Base() with { Observations = [.. Base().Observations.Where(o => o.Id != "ecog")] };
        Assert.Equal(EligibilityOutcome.NeedsData, Engine.Evaluate(record, Inputs(PreScoreState.Pending())).Outcome);
        Assert.Equal(EligibilityOutcome.Pending, Engine.Evaluate(Base(), Inputs(PreScoreState.Pending())).Outcome);
    }

    [Fact]
    public void Ineligible_NamesTheFailingCriteria_AndStillListsWhatToRecord()
    {
        var record = Vignette.Record("20-ecog-2") with { ImagingStudies = [] };
        var r = Engine.Evaluate(record, Inputs(PreScoreState.Unavailable("no pre-operative MR ImagingStudy on record")));
        Assert.Equal(EligibilityOutcome.Ineligible, r.Outcome);
        Assert.Equal([CriterionIds.Ecog], r.FailingCriteria);
        Assert.Contains("ecog", r.Summary);
        Assert.Contains(r.ToRecord, t => t.Contains("4-phase liver MRI"));
    }

    [Fact]
    public void LowPre_IsNotAFailingCriterion()
    {
        var r = Engine.Evaluate(Base(), Inputs(PreScoreState.Computed(0.2)));
        Assert.Equal(EligibilityOutcome.LowRisk, r.Outcome);
        Assert.Empty(r.FailingCriteria);
        Assert.Equal(CriterionStatus.Fail, r[CriterionIds.PreScore].Status);
    }

    [Fact]
    public void SuppliedMriAssessment_ReplacesTheStudyOnlyCheck()
    {
        var mri = new MriAssessment(CriterionStatus.Unknown, "Arterial phase not found among 3 series", [new CdsRisk.Core.Eligibility.Evidence("ImagingStudy/mri", "series", "3")]);
        var r = Engine.Evaluate(Base(), Inputs(mri: mri));
        var c = r[CriterionIds.Mri4Phase];
        Assert.Equal(CriterionStatus.Unknown, c.Status);
        Assert.Equal("Arterial phase not found among 3 series", c.Reason);
        Assert.NotNull(c.ToRecord);
        Assert.Equal(EligibilityOutcome.NeedsData, r.Outcome);
    }

    [Fact]
    public void UnloadableAllergies_MakeHypersensitivityUnknown_NotPass()
    {
        var r = Engine.Evaluate(Base() with { UnavailableData = ["AllergyIntolerance"] }, Inputs());
        var c = r[CriterionIds.RegimenHypersensitivity];
        Assert.Equal(CriterionStatus.Unknown, c.Status);
        Assert.Contains("could not be loaded", c.Reason);
    }

    [Fact]
    public void UnloadableConditions_MakeConditionBasedExclusionsUnknown()
    {
        var r = Engine.Evaluate(Base() with { UnavailableData = ["Condition"] }, Inputs());
        Assert.Equal(CriterionStatus.Unknown, r[CriterionIds.OtherMalignancy].Status);
        Assert.Equal(CriterionStatus.Unknown, r[CriterionIds.HeartFailure].Status);
        Assert.Equal(CriterionStatus.Unknown, r[CriterionIds.BclcStage].Status);
    }

    [Fact]
    public void ChildPughThreshold_IsAProtocolSetting()
    {
        var strict = new EligibilityEngine(Data with { Protocol = Data.Protocol with { ChildPughMaxScore = 6 } });
        var c = strict.Evaluate(Vignette.Record("08-child-pugh-7-b7"), Inputs())[CriterionIds.ChildPugh];
        Assert.Equal(CriterionStatus.Fail, c.Status);
        Assert.Contains("≤ 6", c.Reason);
    }

    [Fact]
    public void ChildPugh_AlreadyAboveTheThresholdWithPartsMissing_Fails()
    {
        var record = Vignette.Record("09-child-pugh-8") with
        {
            Observations = [.. Vignette.Record("09-child-pugh-8").Observations.Where(o => o.Id != "ascites")],
        };
        var c = Engine.Evaluate(record, Inputs())[CriterionIds.ChildPugh];
        Assert.Equal(CriterionStatus.Fail, c.Status);
        Assert.Contains("at least 8", c.Reason);
    }

    [Fact]
    public void Evaluate_IsThreadSafe_SameResultsInParallel()
    {
        var names = Vignette.Names().ToArray();
        var records = names.Select(Vignette.Record).ToArray();
        var serial = records.Select(r => Engine.Evaluate(r, Inputs()).Criteria.Select(c => c.Status + c.Reason).ToArray()).ToArray();
        var parallel = new string[records.Length][];
        Parallel.For(0, records.Length * 4, i => parallel[i % records.Length] = Engine.Evaluate(records[i % records.Length], Inputs()).Criteria.Select(c => c.Status + c.Reason).ToArray());
        for (var i = 0; i < records.Length; i++)
        {
            Assert.Equal(serial[i], parallel[i]);
        }
    }

    [Fact]
    public void EvaluatingASnapshot_GivesTheSameResult_AndRefusesAnotherTime()
    {
        var snapshot = Engine.Snapshot(Base(), At);
        Assert.Equal(
            Engine.Evaluate(Base(), Inputs()).Criteria.Select(c => c.Reason),
            Engine.Evaluate(snapshot, Inputs()).Criteria.Select(c => c.Reason));
        Assert.Throws<ArgumentException>(() => Engine.Evaluate(snapshot, new EligibilityInputs(At.AddHours(1), PreScoreState.Pending())));
    }

    [Fact]
    public void PreScore_RejectsValuesThatAreNotProbabilities()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PreScoreState.Computed(1.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => PreScoreState.Computed(double.NaN));
    }
}

public sealed class OrderSelectChecksTests
{
    private static readonly OrderSelectChecks Checks = new(EligibilityData.LoadEmbedded());

    private static MedicationRequest Order(string id, CodeableConcept drug) =>
        new() { Id = id, Status = MedicationRequest.MedicationrequestStatus.Draft, Intent = MedicationRequest.MedicationRequestIntent.Order, Medication = drug };

    [Fact]
    public void DraftHepatectomyOrder_IsALiverResection()
    {
        var order = new ServiceRequest { Id = "sr1", Status = RequestStatus.Draft, Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "47122") };
        Assert.True(Checks.IsLiverResection(order));
        Assert.False(Checks.IsLiverResection(new ServiceRequest { Id = "sr2", Code = new CodeableConcept("http://www.ama-assn.org/go/cpt", "47562") }));
    }

    [Fact]
    public void SelectedDraftOrders_AreThoseNamedInTheSelections()
    {
        var a = Order("a", new CodeableConcept { Text = "oxaliplatin" });
        var b = Order("b", new CodeableConcept { Text = "paracetamol" });
        var record = Vignette.Record("01-base-eligible") with { DraftOrders = [a, b], SelectedOrders = ["MedicationRequest/b"] };
        Assert.Same(b, Assert.Single(OrderSelectChecks.SelectedDraftOrders(record)));
    }

    [Fact]
    public void OrderingADrugThePatientIsAllergicTo_IsReported()
    {
        var record = Vignette.Record("27-allergy-by-code");
        var conflict = Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "32592", "oxaliplatin")), record);
        Assert.NotNull(conflict);
        Assert.Equal("oxaliplatin", conflict.RegimenDrug);
        Assert.Equal("AllergyIntolerance/a1", conflict.AllergyReference);
        Assert.Equal(DrugMatchAction.Fail, conflict.Action);
    }

    [Fact]
    public void OrderingCamrelizumab_WithAPd1ClassAllergy_IsReported()
    {
        var record = Vignette.Record("29-allergy-by-atc-class");
        var conflict = Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept { Text = "Camrelizumab 200 mg IV" }), record);
        Assert.Equal("pd-1-inhibitor", conflict?.RegimenDrug);
    }

    [Fact]
    public void OrderingAnotherRegimenDrug_IsNotAConflict()
    {
        var record = Vignette.Record("27-allergy-by-code");
        Assert.Null(Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "1603296", "lenvatinib")), record));
        Assert.Null(Checks.RegimenHypersensitivity(Order("m2", new CodeableConcept { Text = "paracetamol" }), record));
    }

    [Fact]
    public void CarboplatinOrder_InAnOxaliplatinAllergicPatient_IsPossibleCrossReactivity_NamingBothDrugs()
    {
        var record = Vignette.Record("27-allergy-by-code");
        var conflict = Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "40048", "carboplatin")), record);
        Assert.NotNull(conflict);
        Assert.Equal("carboplatin", conflict.OrderedDrug);
        Assert.Equal("oxaliplatin", conflict.AllergySubstance);
        Assert.Equal(DrugRelation.PossibleCrossReactivity, conflict.Relation);
        Assert.Equal("possible cross-reactivity (oxaliplatin and other platinum compounds)", conflict.RelationText);
    }

    [Fact]
    public void OxaliplatinOrder_ByBrandName_InAnOxaliplatinAllergicPatient_IsTheSameDrug()
    {
        var record = Vignette.Record("27-allergy-by-code");
        var conflict = Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept { Text = "Eloxatin 85 mg/m2" }), record);
        Assert.Equal(DrugRelation.SameDrug, conflict?.Relation);
        Assert.Equal("same drug", conflict?.RelationText);
    }

    [Fact]
    public void Pd1Order_WithAnotherPd1Allergy_IsTheSameClass_AndPdL1IsCrossReactivity()
    {
        var nivolumabAllergy = Vignette.Record("01-base-eligible") with
        {
            Allergies = [new AllergyIntolerance { Id = "a1", Code = new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "1597876", "nivolumab") }],
        };
        var pembro = Checks.RegimenHypersensitivity(Order("m1", new CodeableConcept("http://www.nlm.nih.gov/research/umls/rxnorm", "1547545", "pembrolizumab")), nivolumabAllergy);
        Assert.Equal(DrugRelation.SameClass, pembro?.Relation);
        Assert.Equal("same drug class (PD-1 inhibitors)", pembro?.RelationText);
        var atezo = Checks.RegimenHypersensitivity(Order("m2", new CodeableConcept { Text = "Atezolizumab 1200 mg" }), nivolumabAllergy);
        Assert.Equal(DrugRelation.PossibleCrossReactivity, atezo?.Relation);
        Assert.Equal("PD-L1 inhibitors", atezo?.OrderedClass);
    }
}
