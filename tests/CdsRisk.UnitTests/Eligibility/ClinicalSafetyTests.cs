using CdsRisk.Api.Hooks;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Eligibility;
using CdsRisk.Core.Imaging;
using CdsRisk.Core.Patients;
using Hl7.Fhir.Model;
using Coding = Hl7.Fhir.Model.Coding;
using ValueSet = CdsRisk.Core.Eligibility.ValueSet;

namespace CdsRisk.UnitTests.Eligibility;

/// <summary>
/// Regression tests named after the hazards of the turn-2 clinical review (issue 14): each probe that gave a false exclusion, a PRE
/// where it means nothing, or a needs-data that was not true. The vignettes carry the end-to-end cases; these pin the rules.
/// See docs/clinical-safety.md for the hazard log that points here.
/// </summary>
public sealed class ClinicalSafetyTests
{
    private static readonly EligibilityData Data = EligibilityData.LoadEmbedded();
    private static readonly EligibilityEngine Engine = new(Data);
    private static readonly DateTimeOffset At = new(2026, 6, 15, 9, 0, 0, TimeSpan.Zero);
    private static readonly MriAssessment ImagesRead = new(CriterionStatus.Pass, "all four phases found and readable (4 volumes)", []);
    private const string Icd = "http://hl7.org/fhir/sid/icd-10-cm";
    private const string Sct = "http://snomed.info/sct";
    private const string Rx = "http://www.nlm.nih.gov/research/umls/rxnorm";
    private const string Atc = "http://www.whocc.no/atc";

    private static EligibilityResult Evaluate(PatientRecord record, PreScoreState? pre = null) =>
        Engine.Evaluate(record, new EligibilityInputs(At, pre ?? PreScoreState.Computed(0.72), pre is null or { Status: PreScoreStatus.Computed } ? ImagesRead : null));

    private static PatientRecord WithCondition(Condition c)
    {
        var b = Vignette.Record("01-base-eligible");
        return b with { Conditions = [.. b.Conditions, c] };
    }

    private static Condition Active(string id, CodeableConcept code) => new()
    {
        Id = id,
        Code = code,
        ClinicalStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
        VerificationStatus = new CodeableConcept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
    };

    [Theory]
    [InlineData(Icd, "C22.9", "Malignant neoplasm of liver, not specified as primary or secondary")]
    [InlineData(Icd, "C22.8", "Malignant neoplasm of liver, primary, unspecified as to type")]
    [InlineData(Icd, "C22.7", "Other specified carcinomas of liver")]
    [InlineData(Icd, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct")]
    [InlineData(Sct, "93870000", "Malignant neoplasm of liver")]
    [InlineData(Sct, "94381002", "Secondary malignant neoplasm of liver")]
    public void FalseExclusion_LiverCancerCode_IsNeverAnotherMalignancy(string system, string code, string display)
    {
        var r = Evaluate(WithCondition(Active("liver", new CodeableConcept(system, code, display))));
        Assert.Equal(CriterionStatus.Pass, r[CriterionIds.OtherMalignancy].Status);
        Assert.Equal(EligibilityOutcome.Eligible, r.Outcome);
    }

    [Fact]
    public void FalseExclusion_HccCodedOnlyAsC22_9_IsTheLiverDiagnosisToBeConfirmed()
    {
        var b = Vignette.Record("01-base-eligible");
        var hcc = (Condition)b.Conditions.Single(c => c.Id == "hcc").DeepCopy();
        hcc.Code = new CodeableConcept(Icd, "C22.9", "Malignant neoplasm of liver, not specified as primary or secondary");
        var r = Evaluate(b with { Conditions = [hcc] });
        Assert.False(r.Snapshot.Hcc!.Specific);
        Assert.Equal(CriterionStatus.ToBeConfirmed, r[CriterionIds.BclcStage].Status);
        Assert.Contains("not as HCC", r[CriterionIds.BclcStage].Reason);
        Assert.Equal(CriterionStatus.Pass, r[CriterionIds.OtherMalignancy].Status);
    }

    [Theory]
    [InlineData("Malignant hypertension")]
    [InlineData("Malignant hyperthermia (family)")]
    [InlineData("Neuroleptic malignant syndrome")]
    [InlineData("Premalignant polyp of colon")]
    [InlineData("No evidence of malignancy on biopsy")]
    public void FalseExclusion_TextThatIsNotACancer_DoesNotExclude(string text)
    {
        var r = Evaluate(WithCondition(Active("x", new CodeableConcept { Text = text })));
        Assert.Equal(CriterionStatus.Pass, r[CriterionIds.OtherMalignancy].Status);
    }

    [Theory]
    [InlineData("Adenocarcinoma of colon")]
    [InlineData("Osteosarcoma of femur")]
    [InlineData("Malignant melanoma of skin")]
    public void TextPatterns_StillFindRealCancers(string text)
    {
        var r = Evaluate(WithCondition(Active("x", new CodeableConcept { Text = text })));
        Assert.Equal(CriterionStatus.Fail, r[CriterionIds.OtherMalignancy].Status);
    }

    [Fact]
    public void TextPattern_MatchesAtTheStartOfAWord_UnlessItStartsWithAStar()
    {
        Assert.Equal("malignan", ValueSet.FindIn("Malignant neoplasm", ["malignan"]));
        Assert.Null(ValueSet.FindIn("premalignant lesion", ["malignan"]));
        Assert.Equal("malignan", ValueSet.FindIn("non-malignant lesion", ["malignan"]));
        Assert.Null(ValueSet.FindIn("osteosarcoma", ["sarcoma"]));
        Assert.Equal("*sarcoma", ValueSet.FindIn("osteosarcoma", ["*sarcoma"]));
        Assert.Equal("hepatectomy", ValueSet.FindIn("Laparoscopic hepatectomy", ["hepatectomy"]));
    }

    [Theory]
    [InlineData("D05.11", "Intraductal carcinoma in situ of right breast", "in situ outside the cervix")]
    [InlineData("C44.91", "Basal cell carcinoma of skin, unspecified", "non-melanoma skin cancer, active")]
    [InlineData("D06.9", "Carcinoma in situ of cervix, unspecified", "not recorded as treated")]
    [InlineData("C78.00", "Secondary malignant neoplasm of unspecified lung", "spread of the HCC or another primary")]
    public void FalseExclusion_ExceptionThatNeedsJudgement_IsToBeConfirmedWithItsReason(string code, string display, string reason)
    {
        var r = Evaluate(WithCondition(Active("x", new CodeableConcept(Icd, code, display))));
        Assert.Equal(CriterionStatus.ToBeConfirmed, r[CriterionIds.OtherMalignancy].Status);
        Assert.Contains(reason, r[CriterionIds.OtherMalignancy].Reason);
    }

    [Fact]
    public void VeryLowRiskCancer_IsNeverAPassThatSaysInvestigatorToConfirm()
    {
        var r = Evaluate(WithCondition(Active("x", new CodeableConcept { Text = "Papillary thyroid microcarcinoma" })));
        Assert.Equal(CriterionStatus.ToBeConfirmed, r[CriterionIds.OtherMalignancy].Status);
        Assert.All(r.Criteria.Where(c => c.Status == CriterionStatus.Pass), c => Assert.DoesNotContain("to confirm", c.Reason, StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData(Rx, "40048", "carboplatin", CriterionStatus.ToBeConfirmed, "possible cross-reactivity with oxaliplatin")]
    [InlineData(Rx, "2555", "cisplatin", CriterionStatus.ToBeConfirmed, "possible cross-reactivity with oxaliplatin")]
    [InlineData(Rx, "1792776", "atezolizumab", CriterionStatus.ToBeConfirmed, "PD-L1 inhibitors")]
    [InlineData(Atc, "L01FF03", "durvalumab", CriterionStatus.ToBeConfirmed, "PD-L1 inhibitors")]
    [InlineData(Atc, "L01FF", "PD-1/PD-L1 inhibitors", CriterionStatus.ToBeConfirmed, "class not resolved")]
    [InlineData(Rx, "6313", "leucovorin", CriterionStatus.ToBeConfirmed, "for the investigator")]
    [InlineData(Atc, "L01FF02", "pembrolizumab", CriterionStatus.Fail, "regimen drug PD-1 inhibitors")]
    [InlineData(Rx, "32592", "oxaliplatin", CriterionStatus.Fail, "regimen drug oxaliplatin")]
    public void FalseExclusion_RegimenHypersensitivity_OnlyTheRegimensOwnDrugsExclude(string system, string code, string display, CriterionStatus status, string reason)
    {
        var b = Vignette.Record("01-base-eligible");
        var allergy = new AllergyIntolerance { Id = "a1", Code = new CodeableConcept(system, code, display) };
        var r = Evaluate(b with { Allergies = [allergy] });
        Assert.Equal(status, r[CriterionIds.RegimenHypersensitivity].Status);
        Assert.Contains(reason, r[CriterionIds.RegimenHypersensitivity].Reason);
    }

    [Fact]
    public void PdL1AndPd1_AreSeparateDrugClasses()
    {
        var classes = Data.ValueSets.DrugClasses;
        var pd1 = classes.Single(c => c.Id == "pd-1-inhibitor");
        var pdl1 = classes.Single(c => c.Id == "pd-l1-inhibitor");
        Assert.Equal(DrugMatchAction.Fail, pd1.OnMatch);
        Assert.Equal(DrugMatchAction.ToBeConfirmed, pdl1.OnMatch);
        Assert.DoesNotContain("L01FF", pd1.AtcPrefixes);
        Assert.Null(pd1.Match(new CodeableConcept(Atc, "L01FF05", "atezolizumab")));
        Assert.NotNull(pdl1.Match(new CodeableConcept(Atc, "L01FF05", "atezolizumab")));
    }

    [Theory]
    [InlineData("33914-3")]
    [InlineData("48642-3")]
    [InlineData("48643-1")]
    [InlineData("50044-7")]
    [InlineData("50210-4")]
    [InlineData("62238-1")]
    [InlineData("88293-6")]
    [InlineData("88294-4")]
    [InlineData("98979-8")]
    [InlineData("98980-6")]
    public void Egfr_EveryCodeOfTheLoincEgfrGroupNamedInTheReview_IsRead(string loinc)
    {
        var b = Vignette.Record("01-base-eligible");
        var egfr = (Observation)b.Observations.Single(o => o.Id == "egfr").DeepCopy();
        egfr.Code = new CodeableConcept("http://loinc.org", loinc);
        egfr.Value = new Quantity(25, "mL/min/{1.73_m2}", "http://unitsofmeasure.org");
        var r = Evaluate(b with { Observations = [.. b.Observations.Where(o => o.Id != "egfr"), egfr] });
        Assert.Equal(CriterionStatus.Fail, r[CriterionIds.SevereRenalDysfunction].Status);
        Assert.Contains("eGFR 25 mL/min/1.73 m²", r[CriterionIds.SevereRenalDysfunction].Reason);
    }

    [Fact]
    public void EveryLoincCodeTheValueSetsRead_IsInThePrefetchTemplates()
    {
        // A code in the value sets that the prefetch and fetch queries leave out would never reach the engine.
        var queries = string.Join(" ", CdsServiceCatalog.Templates.Select(t => t.Query));
        var observationSets = new[] { "obs-bilirubin", "obs-albumin", "obs-inr", "obs-creatinine", "obs-egfr", "obs-afp", "obs-platelets",
            "obs-tumour-size", "obs-ecog", "obs-bp-panel", "obs-nyha" };
        foreach (var code in observationSets.SelectMany(id => Data.ValueSets[id].Codes).Where(c => c.System == "http://loinc.org"))
        {
            Assert.True(queries.Contains($"http://loinc.org|{code.Code}", StringComparison.Ordinal), $"LOINC {code.Code} ({code.Display}) is not fetched");
        }
    }

    [Fact]
    public void HccConditions_AreWrittenWithTheDisorderConcept_AndTheMorphologyConceptIsAcceptedOnInput()
    {
        var hcc = Data.ValueSets["hcc"];
        Assert.NotNull(hcc.Find(new Coding(Sct, "109841003")));
        Assert.NotNull(hcc.Find(new Coding(Sct, "25370001")));
        var bundle = File.ReadAllText(Path.Combine(Vignette.Folder, "01-base-eligible.json"));
        Assert.Contains("\"109841003\"", bundle);
        Assert.DoesNotContain("\"25370001\"", bundle);
    }

    [Fact]
    public void OneMriWindow_TheImagingDefaultIsTheProtocolFilesWindow()
    {
        Assert.Equal(Data.Protocol.MriWindowDays, PhaseRules.Default.MaxStudyAgeDays);
        Assert.Equal(31, Data.Protocol.MriWindowDays);
    }

    [Fact]
    public void PreOutsideThePopulation_IsNotMeaningful_AndSaysWhy()
    {
        var cca = Evaluate(Vignette.Record("33-cholangiocarcinoma-recorded"));
        Assert.False(cca.PreIsMeaningful);
        Assert.Contains("non-hcc-pathology", cca.PreNotUsedReason);

        var noHcc = Evaluate(Vignette.Record("49-hcc-diagnosis-missing"));
        Assert.False(noHcc.PreIsMeaningful);
        Assert.Contains("no HCC diagnosis", noHcc.PreNotUsedReason);

        var base0 = Evaluate(Vignette.Record("01-base-eligible"));
        Assert.True(base0.PreIsMeaningful);
        Assert.Null(base0.PreNotUsedReason);

        Assert.False(Evaluate(Vignette.Record("01-base-eligible"), PreScoreState.Pending()).PreIsMeaningful);
    }

    [Theory]
    [InlineData("afp", "AFP")]
    [InlineData("size", "largest tumour size")]
    [InlineData("count", "tumour count")]
    public void KeyModelInputMissing_IsNeedsDataNamingIt_NotAnEligibleCardOnTheTrainingAverage(string observationId, string name)
    {
        var b = Vignette.Record("01-base-eligible");
        var r = Evaluate(b with { Observations = [.. b.Observations.Where(o => o.Id != observationId)] });
        Assert.Equal(EligibilityOutcome.NeedsData, r.Outcome);
        Assert.Equal(CriterionStatus.Unknown, r[CriterionIds.PreScore].Status);
        Assert.Contains(r.ToRecord, t => t.Contains(name, StringComparison.Ordinal));
        Assert.Equal([name], r.MissingKeyInputs);
        Assert.False(r.PreIsMeaningful);
    }

    [Fact]
    public void MinorModelInputMissing_IsImputedAndListed()
    {
        var b = Vignette.Record("01-base-eligible");
        var r = Evaluate(b with { Observations = [.. b.Observations.Where(o => o.Id is not ("plt" or "inr"))] });
        Assert.Equal(["platelets"], r.ImputedInputs.Where(i => i == "platelets"));
        Assert.Contains("INR", r.ImputedInputs);
        Assert.Empty(r.MissingKeyInputs);
    }

    [Fact]
    public void NeedsData_NeverListsThePre_AndOneMissingPhaseIsOneItem()
    {
        var mri = new MriAssessment(CriterionStatus.Unknown, "MRI cannot be used: arterial phase not found", []);
        var r = Engine.Evaluate(Vignette.Record("01-base-eligible"), new EligibilityInputs(At, PreScoreState.Unavailable(mri.Reason), mri));
        Assert.Equal(EligibilityOutcome.NeedsData, r.Outcome);
        Assert.Single(r.ToRecord);
        Assert.Null(r[CriterionIds.PreScore].ToRecord);
        Assert.DoesNotContain(r.ToRecord, t => t.Contains("PRE", StringComparison.Ordinal));
    }

    [Fact]
    public void ImagesNotYetRead_MriIsPending_NotFewerThanFourSeries_NorPassNotInspected()
    {
        var b = Vignette.Record("01-base-eligible");
        var study = (ImagingStudy)b.ImagingStudies[0].DeepCopy();
        study.Series = [study.Series[0]];
        var r = Engine.Evaluate(b with { ImagingStudies = [study] }, new EligibilityInputs(At, PreScoreState.Pending()));
        Assert.Equal(CriterionStatus.Pending, r[CriterionIds.Mri4Phase].Status);
        Assert.DoesNotContain("fewer than", r[CriterionIds.Mri4Phase].Reason);
        Assert.DoesNotContain("not inspected", r[CriterionIds.Mri4Phase].Reason);
        Assert.Equal(EligibilityOutcome.Pending, r.Outcome);
        Assert.Empty(r.ToRecord);
    }

    [Fact]
    public void RecordedBclcA_NextToChildPughBWithAscites_OrVascularInvasion_IsFlaggedToConfirm()
    {
        var ascites = Evaluate(Vignette.Record("18-ascites-moderate-condition"));
        Assert.Equal(CriterionStatus.ToBeConfirmed, ascites[CriterionIds.BclcStage].Status);

        var pvtt = Evaluate(WithCondition(Active("pvtt", new CodeableConcept { Text = "Portal vein tumor thrombus" })));
        Assert.Equal(CriterionStatus.ToBeConfirmed, pvtt[CriterionIds.BclcStage].Status);
        Assert.Contains("macrovascular invasion", pvtt[CriterionIds.BclcStage].Reason);

        var mvi = Evaluate(WithCondition(Active("mvi", new CodeableConcept { Text = "Microvascular invasion on biopsy" })));
        Assert.Equal(CriterionStatus.Pass, mvi[CriterionIds.BclcStage].Status);
    }

    [Theory]
    [InlineData("I21.4", "NSTEMI", "2026-03-10", CriterionStatus.ToBeConfirmed)]
    [InlineData("I21.4", "NSTEMI", "2019-03-10", CriterionStatus.Pass)]
    [InlineData("I20.0", "Unstable angina", null, CriterionStatus.ToBeConfirmed)]
    [InlineData("I48.91", "Atrial fibrillation, unspecified", null, CriterionStatus.ToBeConfirmed)]
    public void UncontrolledCardiacDisease_IsWiderThanNyha(string code, string display, string? onset, CriterionStatus status)
    {
        var c = Active("cardiac", new CodeableConcept(Icd, code, display));
        if (onset is not null)
        {
            c.Onset = new FhirDateTime(onset);
        }

        Assert.Equal(status, Evaluate(WithCondition(c))[CriterionIds.HeartFailure].Status);
    }

    [Fact]
    public void ChildPugh_ShowsAlbiBesideIt_AndTheLabelSaysWhatSevenIs()
    {
        var r = Evaluate(Vignette.Record("01-base-eligible"));
        Assert.Contains("ALBI grade 1", r[CriterionIds.ChildPugh].Reason);
        Assert.Contains(r[CriterionIds.ChildPugh].Evidence, e => e.Description == "ALBI" && e.Value!.Contains("grade 1", StringComparison.Ordinal));
        Assert.DoesNotContain(r[CriterionIds.ChildPugh].Evidence, e => e.Value?.Contains("point(s)", StringComparison.Ordinal) == true);
        Assert.Equal("Child-Pugh ≤ 7 (protocol; class A is 5–6, 7 is B7)", CdsRisk.Core.Cards.CardCodes.CriterionLabel(CriterionIds.ChildPugh));
    }

    [Theory]
    [InlineData("umol/L", "µmol/L")]
    [InlineData("mL/min/{1.73_m2}", "mL/min/1.73 m²")]
    [InlineData("{INR}", "")]
    [InlineData("mm[Hg]", "mmHg")]
    [InlineData("10*9/L", "×10⁹/L")]
    [InlineData("10*3/uL", "×10³/µL")]
    [InlineData("mg/dL", "mg/dL")]
    [InlineData("ug/L", "µg/L")]
    public void Units_AreWrittenAsCliniciansWriteThem(string ucum, string readable) =>
        Assert.Equal(readable, ClinicalUnits.Readable(ucum));

    [Fact]
    public void AscitesAbsent_IsNotWrittenAsNone()
    {
        var r = Evaluate(Vignette.Record("01-base-eligible"));
        Assert.Contains(r[CriterionIds.ChildPugh].Evidence, e => e.Description == "ascites" && e.Value == "absent");
    }

    [Fact]
    public void SeveralMrStudies_TheNewestPreOperativeOneInTheWindowIsUsed_AndTheOthersAreMentioned()
    {
        var r = Evaluate(Vignette.Record("99-several-mr-studies-newest-in-window"));
        Assert.Equal("ImagingStudy/mri-new", r.Snapshot.LatestMri!.Reference);
        Assert.Equal(2, r.Snapshot.Mri!.OtherStudies);
        Assert.Contains("the newest of 3 MR studies on record", r[CriterionIds.Mri4Phase].Reason);
    }

    [Fact]
    public void MrStudyAfterTheScheduledResection_IsNotPreOperative()
    {
        var b = Vignette.Record("01-base-eligible");
        var sr = (ServiceRequest)b.ServiceRequests[0].DeepCopy();
        sr.Occurrence = new FhirDateTime("2026-06-15T10:00:00Z");
        var later = (ImagingStudy)b.ImagingStudies[0].DeepCopy();
        later.Id = "post-op";
        later.Started = "2026-06-15T11:00:00Z";
        var s = Engine.Snapshot(b with { ServiceRequests = [sr], ImagingStudies = [.. b.ImagingStudies, later] }, At.AddHours(3));
        Assert.Equal("ImagingStudy/mri", s.LatestMri!.Reference);
    }

    [Fact]
    public void RefusalWords_NameThePhase_NeverAUidOrAnInternalReason()
    {
        var missing = new ImagingRefusal(ImagingRefusalReason.PhaseMissing, null, null,
            "no usable Arterial volume among 3 candidate volume(s); set aside: 1.2.826.0.1.3680043.8.498.1.2 TooFewSlices");
        Assert.Equal("arterial phase not found", RefusalWords.Describe(missing, new Dictionary<string, string?>()));
        var slices = new ImagingRefusal(ImagingRefusalReason.UnreadablePixels, "1.2.826.0.1.3680043.8.498.1.2", null, "instance 1.2.3.4: bad length");
        var text = RefusalWords.Describe(slices, new Dictionary<string, string?> { ["1.2.826.0.1.3680043.8.498.1.2"] = "T1 arterial" });
        Assert.Equal("series 'T1 arterial': pixel data that cannot be read", text);
        Assert.DoesNotContain("1.2.", text, StringComparison.Ordinal);
    }
}
