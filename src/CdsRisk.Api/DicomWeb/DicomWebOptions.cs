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

    /// <summary>Largest accepted instance (bytes).</summary>
    [Range(1024, int.MaxValue)]
    public int MaxInstanceBytes { get; set; } = 256 * 1024 * 1024;

    /// <summary>Series of one study retrieved at the same time.</summary>
    [Range(1, 16)]
    public int ParallelSeries { get; set; } = 2;

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

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}

/// <summary>The allow-list rule: the same as every other allow-list (<see cref="CdsRisk.Api.Fhir.AllowedBaseUrl"/>: normalised, decoded paths; encoded separators refused).</summary>
public static class DicomWebServerPolicy
{
    public static bool IsAllowed(Uri server, IEnumerable<string> allowed) =>
        allowed.Any(entry => CdsRisk.Api.Fhir.AllowedBaseUrl.TryCreate(entry, out var prefix) && prefix!.Admits(server));
}
