using CdsRisk.Core.Scoring;
using CdsRisk.Core.WriteBack;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CdsRisk.UnitTests.WriteBack;

public sealed class WriteBackResourcesTests
{
    private const string Device = "Device/pre-model";

    [Fact]
    public void RiskAssessment_CarriesEverythingTheProfilePromises()
    {
        var ra = WriteBackResources.RiskAssessment(TestAssessments.HighRisk(), Device);

        // A reference model's score is preliminary and tagged not-for-clinical-use, machine-readably.
        Assert.Equal(ObservationStatus.Preliminary, ra.Status);
        var tag = Assert.Single(ra.Meta!.Tag);
        Assert.Equal((FhirCodes.ModelUseSystem, FhirCodes.NotForClinicalUseCode), (tag.System, tag.Code));
        Assert.Equal("Patient/hcc-001", ra.Subject.Reference);
        Assert.Equal("Encounter/enc-001", ra.Encounter!.Reference);
        Assert.Equal("Condition/hcc-dx-001", ra.Condition!.Reference);
        Assert.Equal("2026-11-27T09:30:00+00:00", Assert.IsType<FhirDateTime>(ra.Occurrence).Value);
        Assert.Equal(("http://snomed.info/sct", "709510001"), (ra.Code!.Coding[0].System, ra.Code.Coding[0].Code));
        var method = Assert.Single(ra.Method!.Coding);
        Assert.Equal((FhirCodes.ModelSystem, "cdsrisk-pre", "1.0.0"), (method.System, method.Code, method.Version));
        Assert.Equal(Device, ra.Performer!.Reference);
        Assert.Equal(["ImagingStudy/mri-001", "Observation/afp-001", "Observation/alb-001", "Observation/bili-001"], ra.Basis.Select(b => b.Reference));

        var prediction = Assert.Single(ra.Prediction);
        Assert.Equal(FhirCodes.AggressiveRecurrenceCode, prediction.Outcome!.Coding[0].Code);
        Assert.Equal(0.7312m, Assert.IsType<FhirDecimal>(prediction.Probability).Value);
        Assert.Equal(("http://terminology.hl7.org/CodeSystem/risk-probability", "high"), (prediction.QualitativeRisk!.Coding[0].System, prediction.QualitativeRisk.Coding[0].Code));
        var when = Assert.IsType<Hl7.Fhir.Model.Range>(prediction.When);
        Assert.Equal((0m, 2m, "a", "a"), (when.Low!.Value, when.High!.Value, when.Low.Code, when.High.Code));
        Assert.Equal(FhirCodes.Ucum, when.High.System);
    }

    [Fact]
    public void RiskAssessment_FromAModelForClinicalUse_IsFinal_AndUntagged()
    {
        var ra = WriteBackResources.RiskAssessment(TestAssessments.HighRisk() with { Model = TestAssessments.ReferenceModel with { IsReferenceModel = false } }, Device);
        Assert.Equal(ObservationStatus.Final, ra.Status);
        Assert.Empty(ra.Meta!.Tag);
    }

    [Fact]
    public void RiskAssessment_Notes_StateThresholdImputedMissingAndReferenceModel()
    {
        var notes = WriteBackResources.RiskAssessment(TestAssessments.HighRisk(), Device).Note.Select(n => n.Text ?? "").ToList();
        Assert.Contains(notes, n => n == "Threshold 0.50 (NCT07282184 protocol): PRE 0.731 is at or above it, high risk of aggressive recurrence.");
        Assert.Contains(notes, n => n.Contains("platelets_10e9_l"));
        Assert.Contains(notes, n => n.Contains("platelet count not recorded in the last 30 days"));
        Assert.Contains(FhirCodes.ReferenceModelNote, notes);

        var production = TestAssessments.HighRisk() with
        {
            Model = TestAssessments.ReferenceModel with { IsReferenceModel = false },
            ImputedFeatures = [],
            MissingData = [],
        };
        Assert.Single(WriteBackResources.RiskAssessment(production, Device).Note);
    }

    [Theory]
    [InlineData(0.5, "high")]
    [InlineData(0.4999, "low")]
    [InlineData(0.0, "low")]
    [InlineData(1.0, "high")]
    public void QualitativeRisk_IsHighAtOrAboveTheThreshold(double pre, string expected)
    {
        var ra = WriteBackResources.RiskAssessment(TestAssessments.HighRisk() with { Pre = pre }, Device);
        Assert.Equal(expected, ra.Prediction[0].QualitativeRisk!.Coding[0].Code);
    }

    [Fact]
    public void Basis_NamesTheStudyByDicomUid_WhenThereIsNoImagingStudyResource()
    {
        var ra = WriteBackResources.RiskAssessment(TestAssessments.HighRisk() with { ImagingStudyReference = null }, Device);
        var study = ra.Basis[0];
        Assert.Null(study.Reference);
        Assert.Equal("ImagingStudy", study.Type);
        Assert.Equal(("urn:dicom:uid", "urn:oid:1.2.826.0.1.3680043.8.498.10001"), (study.Identifier!.System, study.Identifier.Value));
    }

    [Fact]
    public void Device_HasTheAiTransparencyShape()
    {
        var device = WriteBackResources.ModelDevice(TestAssessments.ReferenceModel);
        Assert.Equal((FhirCodes.AiDeviceTypeSystem, "Artificial-Intelligence"), (device.Type!.Coding[0].System, device.Type.Coding[0].Code));
        Assert.Equal((FhirCodes.DeviceIdSystem, TestAssessments.Sha), (device.Identifier[0].System, device.Identifier[0].Value));
        Assert.Equal("1.0.0", Assert.Single(device.Version).Value);
        Assert.Equal(("cdsrisk-pre", DeviceNameType.ModelName), (device.DeviceName[0].Name, device.DeviceName[0].Type));
        var modelCard = Assert.Single(device.Extension, e => e.Url == FhirCodes.ModelCardExtension);
        Assert.Equal(TestAssessments.ReferenceModel.ModelCardUrl, Assert.IsType<FhirUrl>(modelCard.Value).Value);
        Assert.Equal(FhirCodes.ReferenceModelNote, Assert.Single(device.Note).Text);
    }

    [Fact]
    public void Provenance_MarksTheAssessmentAsAiAsserted_ByTheModelDevice_DerivedFromModelCardAndInputs()
    {
        var provenance = WriteBackResources.Provenance(TestAssessments.HighRisk(), "RiskAssessment/ra-1", Device);
        Assert.Equal("RiskAssessment/ra-1", Assert.Single(provenance.Target).Reference);
        Assert.Equal("AIAST", Assert.Single(provenance.Reason).Coding[0].Code);
        Assert.Equal(Device, Assert.Single(provenance.Agent).Who!.Reference);
        Assert.Equal("author", provenance.Agent[0].Type!.Coding[0].Code);
        Assert.All(provenance.Entity, e => Assert.Equal(Provenance.ProvenanceEntityRole.Derivation, e.Role));
        Assert.Equal(TestAssessments.ReferenceModel.ModelCardUrl, provenance.Entity[0].What!.Identifier!.Value);
        Assert.Equal(["ImagingStudy/mri-001", "Observation/afp-001", "Observation/alb-001", "Observation/bili-001"],
            provenance.Entity.Skip(1).Select(e => e.What!.Reference));
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 9, 30, 0, TimeSpan.Zero), provenance.Recorded);
    }

    [Fact]
    public void Identifier_IsOnePerServerPatientStudyAndModel_SoANewAssessmentUpdatesTheSameRiskAssessment()
    {
        var input = TestAssessments.HighRisk();
        var id = WriteBackResources.RiskAssessmentIdentifier(input).Value;

        Assert.Equal(FhirCodes.RiskAssessmentIdSystem, WriteBackResources.RiskAssessmentIdentifier(input).System);
        Assert.Matches("^[0-9a-f]{64}$", id);
        var otherFeatures = new ClinicalFeatureValues(new Dictionary<string, double?> { [ClinicalFeatureNames.AgeYears] = 59 });
        Assert.Equal(id, WriteBackResources.RiskAssessmentIdentifier(input with
        {
            Occurrence = input.Occurrence.AddHours(3),
            Pre = 0.2,
            ClinicalFeatureHash = ScoreCacheKey.HashClinicalFeatures(otherFeatures),
        }).Value);
        Assert.NotEqual(id, WriteBackResources.RiskAssessmentIdentifier(input with { PatientReference = "Patient/other" }).Value);
        Assert.NotEqual(id, WriteBackResources.RiskAssessmentIdentifier(input with { FhirServer = "https://other-ehr.test/fhir/" }).Value);
        Assert.NotEqual(id, WriteBackResources.RiskAssessmentIdentifier(input with { StudyInstanceUid = "1.2.3.4" }).Value);
        Assert.NotEqual(id, WriteBackResources.RiskAssessmentIdentifier(input with { Model = TestAssessments.ReferenceModel with { Sha256 = new string('0', 64) } }).Value);

        // Each version gets its own Provenance.
        Assert.NotEqual(WriteBackResources.ProvenanceId(input), WriteBackResources.ProvenanceId(input with { Pre = 0.2 }));
        Assert.Equal(WriteBackResources.ProvenanceId(input), WriteBackResources.ProvenanceId(input with { Occurrence = input.Occurrence.AddHours(1) }));
    }

    [Fact]
    public void TransactionBundle_WritesDeviceRiskAssessmentAndProvenance_Idempotently()
    {
        var bundle = WriteBackBundle.Transaction(TestAssessments.HighRisk());
        Assert.Equal(Bundle.BundleType.Transaction, bundle.Type);
        Assert.Equal(["Device", "RiskAssessment", "Provenance"], bundle.Entry.Select(e => e.Resource!.TypeName));
        Assert.All(bundle.Entry, e => Assert.StartsWith("urn:uuid:", e.FullUrl));
        Assert.Equal(3, bundle.Entry.Select(e => e.FullUrl).Distinct().Count());

        var (device, ra, provenance) = (bundle.Entry[0], bundle.Entry[1], bundle.Entry[2]);
        Assert.Equal((Bundle.HTTPVerb.POST, "Device"), (device.Request!.Method!.Value, device.Request!.Url));
        Assert.Equal(FhirCodes.DeviceIdSystem + "|" + TestAssessments.Sha, Uri.UnescapeDataString(device.Request!.IfNoneExist!["identifier=".Length..]));
        var raIdentifier = ((RiskAssessment)ra.Resource!).Identifier[0];
        // Conditional update on the identifier: created the first time, replaced by a later assessment (one current RiskAssessment).
        Assert.Equal((Bundle.HTTPVerb.PUT, "RiskAssessment?identifier=" + Uri.EscapeDataString(raIdentifier.System + "|" + raIdentifier.Value)),
            (ra.Request!.Method!.Value, ra.Request!.Url));
        Assert.Null(ra.Request!.IfNoneExist);
        Assert.Equal(device.FullUrl, ((RiskAssessment)ra.Resource!).Performer!.Reference);

        var prov = (Provenance)provenance.Resource!;
        Assert.Equal((Bundle.HTTPVerb.PUT, "Provenance/" + prov.Id!), (provenance.Request!.Method!.Value, provenance.Request!.Url));
        Assert.Null(provenance.Request!.IfNoneExist);
        Assert.Equal(ra.FullUrl, prov.Target[0].Reference);
        Assert.Equal(device.FullUrl, prov.Agent[0].Who!.Reference);
        Assert.Matches("^[A-Za-z0-9\\-\\.]{1,64}$", prov.Id);
    }

    [Fact]
    public void TransactionBundle_IsByteForByteTheSame_OnEveryRetry()
    {
        var first = WriteBackBundle.Transaction(TestAssessments.HighRisk()).ToJson();
        var retry = WriteBackBundle.Transaction(TestAssessments.HighRisk()).ToJson();
        Assert.Equal(first, retry);
    }

    public static TheoryData<string, AssessmentInput> BadInputs() => new()
    {
        { "Pre", TestAssessments.HighRisk() with { Pre = 1.5 } },
        { "Pre", TestAssessments.HighRisk() with { Pre = double.NaN } },
        { "Threshold", TestAssessments.HighRisk() with { Threshold = 1 } },
        { "StudyInstanceUid", TestAssessments.HighRisk() with { StudyInstanceUid = "1.2.abc" } },
        { "StudyInstanceUid", TestAssessments.HighRisk() with { StudyInstanceUid = "1." + new string('1', 70) } },
        { "ClinicalFeatureHash", TestAssessments.HighRisk() with { ClinicalFeatureHash = "xyz" } },
        { "PatientReference", TestAssessments.HighRisk() with { PatientReference = " " } },
        { "ObservationReferences", TestAssessments.HighRisk() with { ObservationReferences = ["Observation/a b"] } },
        { "Occurrence", TestAssessments.HighRisk() with { Occurrence = default } },
        { "Model.Version", TestAssessments.HighRisk() with { Model = TestAssessments.ReferenceModel with { Version = "" } } },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void BadInput_IsATypedErrorNamingTheField(string field, AssessmentInput input)
    {
        var error = Assert.Throws<AssessmentInputException>(() => WriteBackBundle.Transaction(input));
        Assert.StartsWith(field, error.Message);
    }
}
