namespace CdsRisk.Api.Diagnostics;

// Scoring, write-back and audit events (5xxx scoring, 6xxx write-back). Ids and counts only: no names, no tokens.
internal static partial class Log
{
    [LoggerMessage(5001, LogLevel.Warning, "Scoring queue full: job {JobId} left waiting in storage")]
    public static partial void ScoringOverloaded(this ILogger logger, string jobId);

    [LoggerMessage(5002, LogLevel.Error, "Scoring job {JobId} failed with {ErrorType}")]
    public static partial void ScoringJobFailed(this ILogger logger, string jobId, string errorType);

    [LoggerMessage(5003, LogLevel.Warning, "Scoring worker could not poll for jobs: {ErrorType}")]
    public static partial void ScoringWorkerError(this ILogger logger, string errorType);

    [LoggerMessage(6001, LogLevel.Information, "Outbox item {Id} written to {Host} as {Location}")]
    public static partial void OutboxWritten(this ILogger logger, string id, string host, string? location);

    [LoggerMessage(6002, LogLevel.Warning, "Outbox item {Id} not written (attempt {Attempt}): {Reason}; next attempt in {DelaySeconds} s")]
    public static partial void OutboxRetry(this ILogger logger, string id, int attempt, string reason, int delaySeconds);

    [LoggerMessage(6003, LogLevel.Error, "Outbox item {Id} rejected by the FHIR server: {Reason}")]
    public static partial void OutboxRejected(this ILogger logger, string id, string reason);

    [LoggerMessage(6004, LogLevel.Warning, "Outbox drain stopped by {ErrorType}; trying again later")]
    public static partial void OutboxDrainError(this ILogger logger, string errorType);

    [LoggerMessage(6005, LogLevel.Information, "Outbox item {Id}: nothing to write ({Reason})")]
    public static partial void OutboxDropped(this ILogger logger, string id, string reason);

    [LoggerMessage(6006, LogLevel.Warning, "No credential can write to FHIR server {Host}: the hooks sent no fhirAuthorization token with write scope and WriteBack:BackendClients has no entry for it; RiskAssessments for it wait in the outbox")]
    public static partial void NoWriteCredential(this ILogger logger, string host);

    [LoggerMessage(6007, LogLevel.Warning, "Hook instance {HookInstance}: FHIR server host {Host} is not on Fhir:AllowedServers; no RiskAssessment is queued for it")]
    public static partial void WriteBackServerNotAllowed(this ILogger logger, Guid hookInstance, string host);

    [LoggerMessage(6008, LogLevel.Warning, "FHIR server {Host} failed ({Reason}); its outbox items wait {DelaySeconds} s, other servers go on")]
    public static partial void OutboxServerBackoff(this ILogger logger, string host, string reason, int delaySeconds);

    [LoggerMessage(6009, LogLevel.Warning, "Hook instance {HookInstance}: the outbox did not take the RiskAssessment in time ({ErrorType}); it is stored in the background")]
    public static partial void WriteBackDeferred(this ILogger logger, Guid hookInstance, string errorType);

    [LoggerMessage(5004, LogLevel.Information, "Scoring job {JobId} returned to the queue at shutdown")]
    public static partial void ScoringJobReturned(this ILogger logger, string jobId);

    [LoggerMessage(2003, LogLevel.Warning, "Hook instance {HookInstance} reused for other content; answering 409")]
    public static partial void HookInstanceReused(this ILogger logger, Guid hookInstance);

    [LoggerMessage(7001, LogLevel.Warning, "Audit record {Id} deferred: storage answered {ErrorType}")]
    public static partial void AuditDeferred(this ILogger logger, string id, string errorType);
}
