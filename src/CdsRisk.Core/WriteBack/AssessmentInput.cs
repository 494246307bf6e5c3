using CdsRisk.Core.Cards;

namespace CdsRisk.Core.WriteBack;

/// <summary>One PRE score and what it was computed from: everything the write-back resources say.</summary>
public sealed record AssessmentInput
{
    /// <summary>"Patient/{id}".</summary>
    public required string PatientReference { get; init; }

    /// <summary>
    /// The FHIR base URL the RiskAssessment is written to (normalised, with a trailing slash), when known. It is part of the
    /// RiskAssessment's identifier, so that what is written to one server is never taken for what is written to another.
    /// </summary>
    public string? FhirServer { get; init; }

    public string? EncounterReference { get; init; }

    /// <summary>The HCC Condition the prediction is about, if known ("Condition/{id}").</summary>
    public string? ConditionReference { get; init; }

    /// <summary>When the score was computed; also Provenance.recorded, so a retry writes the same resources.</summary>
    public required DateTimeOffset Occurrence { get; init; }

    public required double Pre { get; init; }

    public double Threshold { get; init; } = 0.5;

    public required ModelIdentity Model { get; init; }

    /// <summary>DICOM StudyInstanceUID of the MRI that was scored.</summary>
    public required string StudyInstanceUid { get; init; }

    /// <summary>"ImagingStudy/{id}" when the study came from FHIR; otherwise the basis names the study by its DICOM uid.</summary>
    public string? ImagingStudyReference { get; init; }

    /// <summary>The Observations whose values fed the clinical features ("Observation/{id}").</summary>
    public IReadOnlyList<string> ObservationReferences { get; init; } = [];

    /// <summary><see cref="Scoring.ScoreCacheKey.HashClinicalFeatures"/> of the clinical features the model read.</summary>
    public required string ClinicalFeatureHash { get; init; }

    /// <summary>Clinical features that were missing and imputed (names from ClinicalFeatureNames).</summary>
    public IReadOnlyList<string> ImputedFeatures { get; init; } = [];

    /// <summary>Anything else that was missing, in words (e.g. "delayed phase: 2 of 3 series unreadable").</summary>
    public IReadOnlyList<string> MissingData { get; init; } = [];
}

/// <summary>Thrown when an <see cref="AssessmentInput"/> cannot be written as promised by the profiles; the message names the field.</summary>
public sealed class AssessmentInputException(string message) : ArgumentException(message);
