namespace CdsRisk.Api.Diagnostics;

/// <summary>Every log line of the host. Never a token, a resource body or a name: hook instances and hashed patient ids only.</summary>
internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Request rejected with {Code} ({Status})")]
    public static partial void RequestRejected(this ILogger logger, string code, int status);

    [LoggerMessage(1002, LogLevel.Warning, "Required FHIR data unavailable ({IssueCount} issues); answering 412")]
    public static partial void RequiredDataUnavailable(this ILogger logger, int issueCount);

    [LoggerMessage(1900, LogLevel.Error, "Unhandled {ExceptionType} for trace {TraceId}")]
    public static partial void UnhandledException(this ILogger logger, string exceptionType, string traceId, Exception exception);

    [LoggerMessage(2001, LogLevel.Information, "Hook {Hook} instance {HookInstance} for patient {PatientHash}")]
    public static partial void HookReceived(this ILogger logger, string hook, Guid hookInstance, string patientHash);

    [LoggerMessage(2002, LogLevel.Information, "Hook instance {HookInstance}: {CardCount} cards, outcome {Outcome}, {ElapsedMs} ms")]
    public static partial void HookAnswered(this ILogger logger, Guid hookInstance, int cardCount, string outcome, long elapsedMs);

    [LoggerMessage(2101, LogLevel.Information, "Hook instance {HookInstance}: prefetch used {Used}, fetched {Fetched}, unavailable {Unavailable}")]
    public static partial void PrefetchSummary(this ILogger logger, Guid hookInstance, int used, int fetched, int unavailable);

    [LoggerMessage(2102, LogLevel.Warning, "Hook instance {HookInstance}: fetch of prefetch key {Key} failed: {Reason}")]
    public static partial void FetchFailed(this ILogger logger, Guid hookInstance, string key, string reason);

    [LoggerMessage(2103, LogLevel.Warning, "Hook instance {HookInstance}: FHIR server host {Host} is not on Fhir:AllowedServers")]
    public static partial void FhirServerNotAllowed(this ILogger logger, Guid hookInstance, string host);

    [LoggerMessage(2104, LogLevel.Warning, "Hook instance {HookInstance}: prefetch key {Key} holds an OperationOutcome; fetching it again")]
    public static partial void PrefetchOperationOutcome(this ILogger logger, Guid hookInstance, string key);

    [LoggerMessage(2201, LogLevel.Information, "Feedback for service {ServiceId}: {Received} received, {Stored} new")]
    public static partial void FeedbackStored(this ILogger logger, string serviceId, int received, int stored);

    [LoggerMessage(3001, LogLevel.Warning, "Client authentication is DISABLED (Auth:Mode=Disabled). Every caller is trusted. Use only for local development.")]
    public static partial void AuthDisabled(this ILogger logger);

    [LoggerMessage(3002, LogLevel.Warning, "Rejected {Scheme} credentials for {Path}: {Reason}")]
    public static partial void TokenRejected(this ILogger logger, string scheme, string path, string reason);

    [LoggerMessage(3004, LogLevel.Warning, "Used-token store unavailable ({ErrorType}): jti checked by this process only")]
    public static partial void ReplayStoreUnavailable(this ILogger logger, string errorType);

    [LoggerMessage(3005, LogLevel.Information, "Patient pseudonym key: {Source}")]
    public static partial void PseudonymKeySource(this ILogger logger, string source);

    [LoggerMessage(3003, LogLevel.Warning, "Could not load JWKS from {Host}: {Reason}")]
    public static partial void JwksFetchFailed(this ILogger logger, string host, string reason);

    [LoggerMessage(4001, LogLevel.Information, "Storage ready: {Engine} schema version {Version}")]
    public static partial void StorageReady(this ILogger logger, string engine, int version);

    [LoggerMessage(4002, LogLevel.Warning, "Storage: {Warning}")]
    public static partial void StoragePermissions(this ILogger logger, string warning);
}
