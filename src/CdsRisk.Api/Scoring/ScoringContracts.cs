using System.Text.Json;
using System.Text.Json.Serialization;

namespace CdsRisk.Api.Scoring;

/// <summary>
/// Everything a scoring job needs, so that any replica can run it after a restart: where the images are and the clinical features.
/// A job computes a property of the study and the features alone — nothing in it names a patient, a FHIR server or a credential —
/// so its result may be shared; what is written or linked for a patient is the hook's (<see cref="WriteBack.RiskAssessmentOrder"/>).
/// </summary>
public sealed record ScoringRequest
{
    public required string StudyInstanceUid { get; init; }

    /// <summary>DICOMweb base from the ImagingStudy's Endpoint, or null for the configured default.</summary>
    public string? DicomWebBaseUrl { get; init; }
    public IReadOnlyList<string> SeriesInstanceUids { get; init; } = [];

    /// <summary>Acquisitions must fall in the protocol window before this date.</summary>
    public DateOnly? ReferenceDate { get; init; }

    public required IReadOnlyDictionary<string, double?> ClinicalFeatures { get; init; }

    public required string ModelSha256 { get; init; }
    public required string ClinicalFeatureHash { get; init; }

    /// <summary>(study, model, clinical features): the same key means the same score, wherever the images were read from.</summary>
    public string CacheKey => $"{StudyInstanceUid}|{ModelSha256}|{ClinicalFeatureHash}";

    /// <summary>
    /// The job that computes it, per place the images are read from: a job that could not read them from one place (e.g. a call
    /// that named a server the service may not use) never stands in for a job that reads them from another.
    /// </summary>
    public string JobKey => $"{DicomWebBaseUrl}|{CacheKey}";
}

/// <summary>One scoring job's result: the PRE (when the images were usable) and what the images showed.</summary>
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

    /// <summary>What was set aside without preventing the reading (a series beyond a DicomWeb limit, a series the server could not deliver), in words.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];

    /// <summary>Series UIDs the ImagingStudy lists that the DICOMweb server does not have (the series it has were read instead).</summary>
    public IReadOnlyList<string> SeriesNotOnServer { get; init; } = [];

    /// <summary>A failure that may pass (a server down): not cached, tried again later.</summary>
    public string? TransientError { get; init; }

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
