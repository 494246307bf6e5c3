namespace CdsRisk.Api.Diagnostics;

/// <summary>The follow-up sweep's log lines: counts, hosts and error kinds only, never a patient id or a resource.</summary>
internal static partial class Log
{
    [LoggerMessage(8001, LogLevel.Information, "Follow-up sweep {SweepId}: {Servers} servers, {Subjects} subjects, {OnStudy} on study, {Removed} removed, {Failures} failures, {ElapsedMs} ms")]
    public static partial void FollowUpSweepDone(this ILogger logger, string sweepId, int servers, int subjects, int onStudy, int removed, int failures, long elapsedMs);

    [LoggerMessage(8002, LogLevel.Warning, "Follow-up sweep {SweepId}: server {Host}: {Reason}")]
    public static partial void FollowUpSweepServerFailed(this ILogger logger, string sweepId, string host, string reason);

    [LoggerMessage(8003, LogLevel.Warning, "Follow-up sweep failed ({ErrorType})")]
    public static partial void FollowUpSweepError(this ILogger logger, string errorType);
}
