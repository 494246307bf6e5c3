namespace CdsRisk.Api.Diagnostics;

// Study arrival (the PACS form of POST /api/scoring-jobs). Job ids and reasons only: never the DICOM PatientID.
internal static partial class Log
{
    [LoggerMessage(5101, LogLevel.Warning, "Scoring job {JobId} kept as failed: {Reason}")]
    public static partial void StudyPatientNotResolved(this ILogger logger, string jobId, string reason);
}
