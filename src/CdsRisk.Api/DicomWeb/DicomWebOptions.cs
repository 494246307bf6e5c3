using System.ComponentModel.DataAnnotations;

namespace CdsRisk.Api.DicomWeb;

/// <summary>Configuration section <c>DicomWeb</c>.</summary>
public sealed class DicomWebOptions
{
    public const string Section = "DicomWeb";

    /// <summary>DICOMweb base URL used when an ImagingStudy has no Endpoint (for example <c>http://pacs:8042/dicom-web</c>).</summary>
    public string? BaseUrl { get; set; }

    /// <summary>Base-URL prefixes that may be contacted (scheme, host, port and path-segment prefix must match). Empty: nothing is contacted.</summary>
    public List<string> AllowedServers { get; set; } = [];

    /// <summary>Value of the Authorization header sent to DICOMweb servers (never the EHR's FHIR token); none when empty.</summary>
    public string? AuthorizationHeader { get; set; }

    /// <summary>Time allowed for one request to produce its response headers (per attempt).</summary>
    [Range(1, 3600)]
    public int RequestTimeoutSeconds { get; set; } = 30;

    /// <summary>Time allowed to stream one whole series.</summary>
    [Range(1, 7200)]
    public int SeriesTimeoutSeconds { get; set; } = 300;

    /// <summary>Retries of a failed GET (transient errors only).</summary>
    [Range(0, 10)]
    public int MaxRetries { get; set; } = 2;

    /// <summary>
    /// Longest wait for the next bytes of a response body (a server that stops sending mid-series). A server that keeps sending
    /// slowly is bounded by <see cref="SeriesTimeoutSeconds"/> and by the scoring job's deadline (Scoring:JobDeadlineSeconds).
    /// </summary>
    [Range(1, 3600)]
    public int ReadIdleTimeoutSeconds { get; set; } = 30;

    /// <summary>
    /// Largest accepted instance (one multipart part), in bytes. A single-frame liver MR slice is 0.1-2 MB (256² to 1024², 16 bits);
    /// the default leaves room for 2048² slices with large headers. Also the most one part buffer can grow to: the memory a study
    /// may take grows with it (bench/README.md).
    /// </summary>
    [Range(1024, 1024 * 1024 * 1024)]
    public int MaxInstanceBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Most instances read from one series (a dynamic series of a liver MRI holds a few hundred to about 1,500).</summary>
    [Range(1, 1_000_000)]
    public int MaxInstancesPerSeries { get; set; } = 2_000;

    /// <summary>Most instances read from one study, all series together (a full liver MR exam holds 1,000-4,000).</summary>
    [Range(1, 1_000_000)]
    public int MaxInstancesPerStudy { get; set; } = 6_000;

    /// <summary>Most MR series retrieved from one study.</summary>
    [Range(1, 10_000)]
    public int MaxSeriesPerStudy { get; set; } = 100;

    /// <summary>Most bytes read from one study, all series together (4 phases × 100 slices × 512² × 16 bits ≈ 200 MB; a full exam 1-2 GB).</summary>
    [Range(1024L, long.MaxValue)]
    public long MaxStudyBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Largest accepted QIDO-RS answer (DICOM JSON), in bytes.</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxQueryBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Series of one study retrieved at the same time.</summary>
    [Range(1, 16)]
    public int ParallelSeries { get; set; } = 2;

    /// <summary>
    /// How long a DICOMweb server's circuit stays open once it has failed (at least 5 requests in 30 s, half of them failing).
    /// The breaker is kept per server (scheme, host and port): one failing server never stops requests to another.
    /// </summary>
    [Range(1, 3600)]
    public int CircuitBreakSeconds { get; set; } = 30;

    /// <summary>Errors that make the options unusable, naming the key.</summary>
    public IEnumerable<string> Problems()
    {
        if (!string.IsNullOrWhiteSpace(BaseUrl) && !IsHttpUrl(BaseUrl))
        {
            yield return $"{Section}:BaseUrl must be an absolute http or https URL";
        }

        for (var i = 0; i < AllowedServers.Count; i++)
        {
            if (!IsHttpUrl(AllowedServers[i]))
            {
                yield return $"{Section}:AllowedServers:{i} must be an absolute http or https URL";
            }
        }

        if (!string.IsNullOrWhiteSpace(BaseUrl) && IsHttpUrl(BaseUrl) && !DicomWebServerPolicy.IsAllowed(new Uri(BaseUrl), AllowedServers))
        {
            yield return $"{Section}:BaseUrl is not on {Section}:AllowedServers";
        }
    }

    /// <summary>The base URL for a study: the one its Endpoint names, else <see cref="BaseUrl"/>; an error when none or not allowed.</summary>
    public (Uri? Server, DicomWebException? Problem) Locate(Uri? studyEndpoint)
    {
        var server = studyEndpoint ?? (string.IsNullOrWhiteSpace(BaseUrl) ? null : new Uri(BaseUrl));
        if (server is null)
        {
            return (null, new DicomWebException(DicomWebError.NoServer, "the ImagingStudy has no dicom-wado-rs Endpoint and DicomWeb:BaseUrl is not set"));
        }

        return DicomWebServerPolicy.IsAllowed(server, AllowedServers)
            ? (server, null)
            : (server, new DicomWebException(DicomWebError.ServerNotAllowed, $"DICOMweb server {server.GetLeftPart(UriPartial.Authority)} is not on DicomWeb:AllowedServers"));
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>The allow-list rule: the same as every other allow-list (<see cref="CdsRisk.Api.Fhir.AllowedBaseUrl"/>: normalised, decoded paths; encoded separators refused).</summary>
public static class DicomWebServerPolicy
{
    public static bool IsAllowed(Uri server, IEnumerable<string> allowed) =>
        allowed.Any(entry => CdsRisk.Api.Fhir.AllowedBaseUrl.TryCreate(entry, out var prefix) && prefix!.Admits(server));
}
