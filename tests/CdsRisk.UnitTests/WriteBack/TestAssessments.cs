using CdsRisk.Core.Cards;
using CdsRisk.Core.Scoring;
using CdsRisk.Core.WriteBack;

namespace CdsRisk.UnitTests.WriteBack;

internal static class TestAssessments
{
    public const string Sha = "3f7a0c1d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a21";

    public static ModelIdentity ReferenceModel { get; } =
        new("cdsrisk-pre", "1.0.0", Sha, IsReferenceModel: true, ModelCardUrl: "https://cdsrisk.example.org/models/cdsrisk-pre/1.0.0/model-card");

    public static ClinicalFeatureValues Features { get; } = new(new Dictionary<string, double?>
    {
        [ClinicalFeatureNames.AgeYears] = 58,
        [ClinicalFeatureNames.SexMale] = 1,
        [ClinicalFeatureNames.AfpNgPerMl] = 412.5,
        [ClinicalFeatureNames.AlbuminGPerL] = 41,
        [ClinicalFeatureNames.BilirubinUmolPerL] = 14.2,
        [ClinicalFeatureNames.PlateletsE9PerL] = null,
        [ClinicalFeatureNames.Inr] = 1.05,
        [ClinicalFeatureNames.TumourSizeCm] = 4.2,
        [ClinicalFeatureNames.TumourCount] = 1,
    });

    public static AssessmentInput HighRisk() => new()
    {
        PatientReference = "Patient/hcc-001",
        FhirServer = "https://ehr.example.org/fhir/",
        EncounterReference = "Encounter/enc-001",
        ConditionReference = "Condition/hcc-dx-001",
        Occurrence = new DateTimeOffset(2026, 11, 27, 9, 30, 0, TimeSpan.Zero),
        Pre = 0.7312,
        Threshold = 0.5,
        Model = ReferenceModel,
        StudyInstanceUid = "1.2.826.0.1.3680043.8.498.10001",
        ImagingStudyReference = "ImagingStudy/mri-001",
        ObservationReferences = ["Observation/afp-001", "Observation/alb-001", "Observation/bili-001"],
        ClinicalFeatureHash = ScoreCacheKey.HashClinicalFeatures(Features),
        ImputedFeatures = [ClinicalFeatureNames.PlateletsE9PerL],
        MissingData = ["platelet count not recorded in the last 30 days"],
    };
}
