namespace CdsRisk.Api.Hooks;

/// <summary>A stable error kind: its code appears in the problem <c>type</c>, the <c>code</c> extension, logs and tests.</summary>
public sealed record ErrorCode(string Code, int Status, string Title)
{
    public const string TypeBase = "https://cdsrisk.example.org/errors/";

    public string Type => TypeBase + Code;
}

public static class ErrorCodes
{
    public static readonly ErrorCode MalformedBody = new("CDSR-1001", StatusCodes.Status400BadRequest, "The request body is not valid JSON for this endpoint");
    public static readonly ErrorCode ValidationFailed = new("CDSR-1002", StatusCodes.Status400BadRequest, "One or more fields are invalid");
    public static readonly ErrorCode UnknownService = new("CDSR-1003", StatusCodes.Status404NotFound, "No CDS Service with this id");
    public static readonly ErrorCode HookMismatch = new("CDSR-1004", StatusCodes.Status400BadRequest, "The request's hook is not the hook of this service");
    public static readonly ErrorCode MalformedPrefetch = new("CDSR-1005", StatusCodes.Status400BadRequest, "A prefetch value is not a valid FHIR R4 resource");
    public static readonly ErrorCode PrefetchPatientMismatch = new("CDSR-1006", StatusCodes.Status400BadRequest, "The prefetched Patient is not the patient in context");
    public static readonly ErrorCode UnsupportedMediaType = new("CDSR-1007", StatusCodes.Status415UnsupportedMediaType, "The request body must be application/json");
    public static readonly ErrorCode BadRequest = new("CDSR-1008", StatusCodes.Status400BadRequest, "The request could not be read");
    public static readonly ErrorCode PayloadTooLarge = new("CDSR-1011", StatusCodes.Status413PayloadTooLarge, "The request body is too large");
    public static readonly ErrorCode UnknownRoute = new("CDSR-1010", StatusCodes.Status404NotFound, "No such endpoint");
    public static readonly ErrorCode HookInstanceReused = new("CDSR-1013", StatusCodes.Status409Conflict, "The hookInstance was already used for a call with other content");
    public static readonly ErrorCode MalformedDraftOrders = new("CDSR-1009", StatusCodes.Status400BadRequest, "context.draftOrders is not a valid FHIR R4 Bundle");
    public static readonly ErrorCode PrefetchTooLarge = new("CDSR-1012", StatusCodes.Status400BadRequest, "A prefetch value holds more resources than the service accepts");

    /// <summary>412 (CDS Hooks 2.0 §Prefetch): required data is missing and could not be fetched.</summary>
    public static readonly ErrorCode RequiredDataUnavailable = new("CDSR-1101", StatusCodes.Status412PreconditionFailed, "Required FHIR data is missing and could not be fetched");

    public static readonly ErrorCode Internal = new("CDSR-1900", StatusCodes.Status500InternalServerError, "Unexpected error");
}

/// <summary>A request the service cannot answer, of a known kind; turned into problem details by <see cref="CdsRiskExceptionHandler"/>.</summary>
public class CdsRiskException(ErrorCode error, string detail, IDictionary<string, string[]>? errors = null) : Exception(detail)
{
    public ErrorCode Error { get; } = error;
    public IDictionary<string, string[]>? Errors { get; } = errors;
}

/// <summary>412: required data missing and not fetchable. The body is a FHIR OperationOutcome listing each key.</summary>
public sealed class RequiredDataUnavailableException(IReadOnlyList<string> issues)
    : CdsRiskException(ErrorCodes.RequiredDataUnavailable, string.Join("; ", issues))
{
    public IReadOnlyList<string> Issues { get; } = issues;
}
