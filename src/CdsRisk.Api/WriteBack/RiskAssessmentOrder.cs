using System.Security.Cryptography;
using System.Text.Json;
using CdsRisk.Api.Scoring;
using CdsRisk.Core.Cards;
using CdsRisk.Core.WriteBack;

namespace CdsRisk.Api.WriteBack;

/// <summary>
/// What one hook asks to be written for its own patient on its own FHIR server: everything the RiskAssessment says except the
/// PRE and the model's identity, which come from the scoring job named by <see cref="ScoreKey"/> (its result may be shared with
/// other patients' hooks; this order never is). Stored as an outbox item's payload and turned into the FHIR transaction when the
/// score is there.
/// </summary>
public sealed record RiskAssessmentOrder
{
    /// <summary>The FHIR base URL written to, normalised with a trailing slash.</summary>
    public required string FhirServer { get; init; }

    /// <summary>"Patient/{id}" on <see cref="FhirServer"/>.</summary>
    public required string PatientReference { get; init; }

    public string? EncounterReference { get; init; }
    public string? ConditionReference { get; init; }

    /// <summary>When the hook assessed the patient (RiskAssessment.occurrence, Provenance.recorded).</summary>
    public required DateTimeOffset Occurrence { get; init; }

    public required double Threshold { get; init; }
    public required string StudyInstanceUid { get; init; }
    public string? ImagingStudyReference { get; init; }
    public IReadOnlyList<string> ObservationReferences { get; init; } = [];
    public IReadOnlyList<string> MissingData { get; init; } = [];
    public required string ClinicalFeatureHash { get; init; }

    /// <summary>The scoring job's key (<see cref="ScoringRequest.CacheKey"/>) whose PRE this order records.</summary>
    public required string ScoreKey { get; init; }

    /// <summary>The model the score must come from (its ONNX SHA-256).</summary>
    public required string ModelSha256 { get; init; }

    /// <summary>The model's card says it is not for clinical use (status preliminary, tagged).</summary>
    public bool ReferenceModel { get; init; }

    public string? ModelCardUrl { get; init; }

    /// <summary>The outbox item's id and the RiskAssessment's identifier value: one per (FHIR server, patient, study, model).</summary>
    public string Id => WriteBackResources.RiskAssessmentIdentifierValue(FhirServer, PatientReference, StudyInstanceUid, ModelSha256);

    public string ToJson() => JsonSerializer.Serialize(this, ScoringJson.Options);

    public static RiskAssessmentOrder FromJson(string json) =>
        JsonSerializer.Deserialize<RiskAssessmentOrder>(json, ScoringJson.Options) ?? throw new JsonException("empty write-back order");

    /// <summary>SHA-256 of what would be written, the assessment time aside: queuing the same assessment again changes nothing.</summary>
    public string ContentSha256() =>
        Convert.ToHexStringLower(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(this with { Occurrence = default }, ScoringJson.Options)));

    /// <summary>The resources' input once the score is known; null when the score is not this order's (another model).</summary>
    public AssessmentInput? ToAssessment(ScoringOutcome score)
    {
        if (score.Pre is not { } pre || score.ModelId is null || score.ModelVersion is null
            || !string.Equals(score.ModelSha256, ModelSha256, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return new AssessmentInput
        {
            PatientReference = PatientReference,
            FhirServer = FhirServer,
            EncounterReference = EncounterReference,
            ConditionReference = ConditionReference,
            Occurrence = Occurrence,
            Pre = pre,
            Threshold = Threshold,
            Model = new ModelIdentity(score.ModelId, score.ModelVersion, ModelSha256, ReferenceModel, ModelCardUrl),
            StudyInstanceUid = StudyInstanceUid,
            ImagingStudyReference = ImagingStudyReference,
            ObservationReferences = ObservationReferences,
            ClinicalFeatureHash = ClinicalFeatureHash,
            ImputedFeatures = score.ImputedFeatures,
            MissingData = MissingData,
        };
    }
}
