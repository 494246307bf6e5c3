using System.Text.Json;
using System.Text.Json.Serialization;

namespace CdsRisk.Api.Scoring;

/// <summary>
/// Everything a scoring job needs, so that any replica can run it after a restart: where the images are, the clinical
/// features, and what the RiskAssessment written afterwards refers to. No token: credentials are looked up when the job runs.
/// </summary>
public sealed record ScoringRequest
{
    public required string PatientReference { get; init; }
    public string? EncounterReference { get; init; }

    /// <summary>The HCC Condition the assessment is about (RiskAssessment.condition), when recorded.</summary>
    public string? ConditionReference { get; init; }

    /// <summary>The EHR's FHIR base the RiskAssessment is written back to (null: nowhere).</summary>
    public string? FhirServer { get; init; }

    public required string StudyInstanceUid { get; init; }
    public string? ImagingStudyReference { get; init; }

    /// <summary>DICOMweb base from the ImagingStudy's Endpoint, or null for the configured default.</summary>
    public string? DicomWebBaseUrl { get; init; }
    public IReadOnlyList<string> SeriesInstanceUids { get; init; } = [];

    /// <summary>Acquisitions must fall in the protocol window before this date.</summary>
    public DateOnly? ReferenceDate { get; init; }

    public required IReadOnlyDictionary<string, double?> ClinicalFeatures { get; init; }

    /// <summary>The Observations the clinical features came from (RiskAssessment.basis).</summary>
    public IReadOnlyList<string> BasisReferences { get; init; } = [];

    /// <summary>Clinical data that was missing when the features were built (RiskAssessment.note).</summary>
    public IReadOnlyList<string> MissingData { get; init; } = [];

    /// <summary>The protocol's PRE threshold at the time of the request.</summary>
    public double Threshold { get; init; } = 0.5;

    public string? ModelCardUrl { get; init; }

    public required string ModelSha256 { get; init; }
    public required string ClinicalFeatureHash { get; init; }

    /// <summary>(study, model, clinical features): the same key means the same score.</summary>
    public string CacheKey => $"{StudyInstanceUid}|{ModelSha256}|{ClinicalFeatureHash}";
}

/// <summary>One scoring job's result: the PRE (when the images were usable), what the images showed, and what the write-back became.</summary>
public sealed record ScoringOutcome
{
    public double? Pre { get; init; }
    public string? ModelId { get; init; }
    public string? ModelVersion { get; init; }
    public string? ModelSha256 { get; init; }
    public IReadOnlyList<string> ImputedFeatures { get; init; } = [];

    /// <summary>The four phases as found (series, time point, slices, how identified), for the mri-4-phase criterion and the audit.</summary>
    public IReadOnlyList<PhaseSummary> Phases { get; init; } = [];

    /// <summary>Why the study could not be used (phase missing, outside window, server error …).</summary>
    public IReadOnlyList<string> Refusals { get; init; } = [];

    /// <summary>The DICOM Study Date (0008,0020) as the DICOMweb server reports it: the study's date when the ImagingStudy has no <c>started</c>.</summary>
    public DateOnly? StudyDate { get; init; }

    /// <summary>What was set aside without preventing the score: series the ImagingStudy lists that the DICOMweb server does not have, series too large.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>A failure that may pass (a server down): not cached, tried again later.</summary>
    public string? TransientError { get; init; }

    /// <summary>The deterministic identifier of the RiskAssessment written for this score, when one was queued.</summary>
    public string? RiskAssessmentIdentifier { get; init; }

    public static ScoringOutcome Failed(string error) => new() { TransientError = error };
}

public sealed record PhaseSummary(string Phase, string SeriesInstanceUid, string? SeriesDescription, string? TimePoint, int Slices, string IdentifiedBy, string Detail);

/// <summary>The imaging + inference work behind a job (DICOMweb → phases → volumes → model).</summary>
public interface IScoringWork
{
    Task<ScoringOutcome> RunAsync(ScoringRequest request, IScoringProgress progress, CancellationToken cancellationToken);
}

public interface IScoringProgress
{
    /// <summary>Records the stage reached (e.g. "retrieving series 2/4") and renews the job's lease.</summary>
    Task ReportAsync(string stage);
}

internal static class ScoringJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static ScoringOutcome ReadOutcome(string json) =>
        JsonSerializer.Deserialize<ScoringOutcome>(json, Options) ?? ScoringOutcome.Failed("empty stored result");
}
