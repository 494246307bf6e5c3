namespace CdsRisk.Api.DicomWeb;

public enum DicomWebError
{
    /// <summary>No base URL: neither an ImagingStudy endpoint nor DicomWeb:BaseUrl.</summary>
    NoServer,
    /// <summary>The server is not on DicomWeb:AllowedServers.</summary>
    ServerNotAllowed,
    /// <summary>The study UID is missing or not a urn:oid: identifier.</summary>
    NoStudyUid,
    /// <summary>The server answered with an HTTP error.</summary>
    HttpError,
    /// <summary>The response is not the multipart/related or JSON the standard prescribes.</summary>
    InvalidResponse,
    /// <summary>The server did not answer in time or the connection failed.</summary>
    Unreachable,
    /// <summary>The answer exceeds a configured limit (DicomWeb:MaxInstanceBytes, MaxInstancesPerSeries, …); the message names it.</summary>
    LimitExceeded,
}

/// <summary>A DICOMweb failure, typed; <see cref="SeriesInstanceUid"/> names the series when one is concerned.</summary>
public sealed class DicomWebException : Exception
{
    public DicomWebException(DicomWebError error, string message, string? seriesInstanceUid = null, int? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        Error = error;
        SeriesInstanceUid = seriesInstanceUid;
        StatusCode = statusCode;
    }

    public DicomWebError Error { get; }

    public string? SeriesInstanceUid { get; }

    public int? StatusCode { get; }

    /// <summary>For <see cref="DicomWebError.LimitExceeded"/>: the study as a whole is beyond a limit (not only this series).</summary>
    public bool WholeStudy { get; init; }
}
