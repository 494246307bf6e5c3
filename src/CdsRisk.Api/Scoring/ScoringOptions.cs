using System.ComponentModel.DataAnnotations;

namespace CdsRisk.Api.Scoring;

/// <summary>Configuration section <c>Scoring</c>: how much imaging and inference one process runs at once, and how long a hook waits.</summary>
public sealed class ScoringOptions
{
    public const string Section = "Scoring";

    /// <summary>Studies retrieved and scored at the same time in this process.</summary>
    [Range(1, 64)]
    public int MaxConcurrency { get; set; } = 2;

    /// <summary>Jobs allowed to wait for a slot in this process; beyond it a hook answers "pending" and the job waits in the database.</summary>
    [Range(0, 10_000)]
    public int MaxQueue { get; set; } = 16;

    /// <summary>A job's lease: another process takes the job over when its owner stops renewing it for this long.</summary>
    [Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    /// <summary>A job that failed (e.g. the DICOMweb server was down) may be tried again after this long.</summary>
    [Range(0, 86_400)]
    public int RetryFailedAfterSeconds { get; set; } = 30;

    /// <summary>
    /// The most one job may take to retrieve and read its study: past it the job fails with that reason and frees its slot
    /// (a DICOMweb server sending a byte a second must not hold a slot that another study waits for). A 4-phase liver MRI of
    /// 200 MB takes under a second on a LAN and under a minute at 40 Mbit/s.
    /// </summary>
    [Range(1, 86_400)]
    public int JobDeadlineSeconds { get; set; } = 600;

    /// <summary>How often the background worker looks for queued or abandoned jobs.</summary>
    [Range(1, 3600)]
    public int PollSeconds { get; set; } = 2;
}
