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

    [LoggerMessage(7001, LogLevel.Warning, "Audit record {Id} deferred: storage answered {ErrorType}")]
    public static partial void AuditDeferred(this ILogger logger, string id, string errorType);
}
