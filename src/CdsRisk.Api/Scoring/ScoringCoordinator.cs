using System.Collections.Concurrent;
using System.Text.Json;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Scoring;

/// <summary>Tells whoever waits for scores (the outbox) that a job stored one, by its cache key. Dropped when nobody keeps up: the outbox also polls.</summary>
public sealed class ScoreStoredSignal
{
    private readonly System.Threading.Channels.Channel<string> _keys = System.Threading.Channels.Channel.CreateBounded<string>(
        new System.Threading.Channels.BoundedChannelOptions(1024) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropOldest });

    public System.Threading.Channels.ChannelReader<string> Keys => _keys.Reader;

    public void Raise(string scoreKey) => _keys.Writer.TryWrite(scoreKey);
}

/// <summary>What a hook learns about a score within its budget.</summary>
public abstract record ScoringAttempt
{
    private ScoringAttempt() { }

    public sealed record Completed(ScoringOutcome Outcome) : ScoringAttempt;

    /// <summary>Still running (here or in another process), or queued: the hook answers "pending".</summary>
    public sealed record Pending(string JobId, string Progress, bool Overloaded) : ScoringAttempt;
}

/// <summary>
/// Runs each scoring job once at a time across all replicas (a job row per key, claimed under a lease), with bounded
/// concurrency and a bounded queue in each process, and lets a hook wait for the result no longer than its budget.
/// </summary>
public sealed class ScoringCoordinator(
    ScoringJobStore jobs,
    ScoreCacheStore cache,
    IScoringWork work,
    ScoreStoredSignal stored,
    IOptions<ScoringOptions> options,
    TimeProvider time,
    ILogger<ScoringCoordinator> logger,
    CdsRiskMetrics? metrics = null) : IDisposable
{
    public static readonly System.Diagnostics.ActivitySource Activity = new("CdsRisk.Scoring");

    private readonly ScoringOptions _options = options.Value;
    private readonly SemaphoreSlim _slots = new(options.Value.MaxConcurrency, options.Value.MaxConcurrency);
    private readonly ConcurrentDictionary<string, Task<ScoringOutcome?>> _local = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private int _waiting;
    private int _disposed;

    /// <summary>This process's name in job leases.</summary>
    public string Owner { get; } = $"{Environment.ProcessId}-{Guid.NewGuid():N}";

    private TimeSpan Lease => TimeSpan.FromSeconds(_options.LeaseSeconds);

    /// <summary>
    /// Creates the job when new (idempotent per key) and starts it here when this process may; does not wait. A score already
    /// stored is the job that computed it.
    /// </summary>
    public async Task<(ScoringJobRow Job, bool Created)> SubmitAsync(ScoringRequest request, CancellationToken cancellationToken)
    {
        if (await jobs.FindSucceededAsync(request.CacheKey, cancellationToken) is { } done)
        {
            return (done, false);
        }

        var (job, created) = await CreateOrGetJobAsync(request, cancellationToken);
        await TryStartAsync(job, cancellationToken);
        return (await jobs.GetAsync(job.Id, cancellationToken) ?? job, created);
    }

    /// <summary>The stored score for this request's key, if one was computed before (by any replica).</summary>
    public async Task<ScoringOutcome?> GetCachedAsync(ScoringRequest request, CancellationToken cancellationToken) =>
        await cache.GetAsync(request.CacheKey, cancellationToken) is { } cached ? ScoringJson.ReadOutcome(cached) : null;

    /// <summary>
    /// The score for <paramref name="request"/> if its job has one or can have one within <paramref name="wait"/>; otherwise pending.
    /// A finished job carries its result, so callers that already looked in the cache (<see cref="GetCachedAsync"/>) do not read it twice.
    /// </summary>
    public async Task<ScoringAttempt> GetOrStartAsync(ScoringRequest request, TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + wait;
        var (job, _) = await CreateOrGetJobAsync(request, cancellationToken);
        var overloaded = !await TryStartAsync(job, cancellationToken);

        while (true)
        {
            if (_local.TryGetValue(job.Id, out var running))
            {
                var remaining = deadline - time.GetUtcNow();
                if (remaining > TimeSpan.Zero)
                {
                    try
                    {
                        await running.WaitAsync(remaining, time, cancellationToken);
                    }
                    catch (TimeoutException)
                    {
                    }
                }
            }

            var current = await jobs.GetAsync(job.Id, cancellationToken) ?? job;
            switch (current.State)
            {
                case ScoringJobState.Succeeded when current.ResultJson is { } result:
                    return new ScoringAttempt.Completed(ScoringJson.ReadOutcome(result));
                case ScoringJobState.Failed:
                    return new ScoringAttempt.Completed(ScoringOutcome.Failed(current.Error ?? "scoring failed"));
            }

            if (time.GetUtcNow() >= deadline)
            {
                return new ScoringAttempt.Pending(current.Id, current.Progress, overloaded);
            }

            // Running in another process: look again shortly, within the budget.
            await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken);
        }
    }

    private Task<(ScoringJobRow Job, bool Created)> CreateOrGetJobAsync(ScoringRequest request, CancellationToken cancellationToken) =>
        jobs.CreateOrGetAsync(Guid.NewGuid().ToString("N"), request.JobKey, JsonSerializer.Serialize(request, ScoringJson.Options), cancellationToken);

    /// <summary>Starts the job in this process when it is claimable and a slot or queue place is free. False when this process is overloaded.</summary>
    internal async Task<bool> TryStartAsync(ScoringJobRow job, CancellationToken cancellationToken)
    {
        if (_local.ContainsKey(job.Id) || job.State == ScoringJobState.Succeeded || _stopping.IsCancellationRequested)
        {
            return true;
        }

        var retry = job.State == ScoringJobState.Failed && time.GetUtcNow() - job.Updated >= TimeSpan.FromSeconds(_options.RetryFailedAfterSeconds);
        if (job.State == ScoringJobState.Failed && !retry)
        {
            return true;
        }

        if (Interlocked.Increment(ref _waiting) > _options.MaxConcurrency + _options.MaxQueue)
        {
            Interlocked.Decrement(ref _waiting);
            logger.ScoringOverloaded(job.Id);
            return false;
        }

        if (!await jobs.TryClaimAsync(job.Id, Owner, Lease, retry, cancellationToken))
        {
            Interlocked.Decrement(ref _waiting);
            return true;
        }

        var request = JsonSerializer.Deserialize<ScoringRequest>(job.RequestJson, ScoringJson.Options)!;
        _local[job.Id] = RunAsync(job.Id, request);
        return true;
    }

    private async Task<ScoringOutcome?> RunAsync(string jobId, ScoringRequest request)
    {
        var token = _stopping.Token;
        metrics?.ScoringQueueDepth(Volatile.Read(ref _waiting));
        try
        {
            await _slots.WaitAsync(token);
            var started = time.GetTimestamp();
            using var activity = Activity.StartActivity("scoring-job");
            activity?.SetTag("cdsrisk.scoring.job_id", jobId);
            try
            {
                var progress = new Progress(this, jobId, token);
                var outcome = await work.RunAsync(request, progress, token);
                var result = outcome.TransientError is not null ? "failed" : outcome.Pre is null ? "unusable" : "succeeded";
                activity?.SetTag("cdsrisk.scoring.result", result);
                metrics?.ScoringJobFinished(result, time.GetElapsedTime(started));
                if (outcome.TransientError is { } error)
                {
                    // Not a result: the job fails, and a later hook (or the worker) tries it again after Scoring:RetryFailedAfterSeconds.
                    await jobs.FailAsync(jobId, Owner, error, CancellationToken.None);
                    return outcome;
                }

                var json = JsonSerializer.Serialize(outcome, ScoringJson.Options);
                await cache.PutAsync(request.CacheKey, request.StudyInstanceUid, request.ModelSha256, request.ClinicalFeatureHash, json, CancellationToken.None);
                await jobs.CompleteAsync(jobId, Owner, json, CancellationToken.None);
                // The write-backs that hooks queued for this score (each for its own patient and server) can go now.
                stored.Raise(request.CacheKey);
                return outcome;
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Shutting down: back in the queue, so another process (or this one after restart) takes the job over at once.
            await jobs.ReturnAsync(jobId, Owner, CancellationToken.None);
            logger.ScoringJobReturned(jobId);
            return null;
        }
#pragma warning disable CA1031 // a job's last resort: any failure is recorded on the job (failed, with its type), never lost
        catch (Exception ex)
#pragma warning restore CA1031
        {
            logger.ScoringJobFailed(jobId, ex.GetType().Name);
            await jobs.FailAsync(jobId, Owner, $"internal error ({ex.GetType().Name})", CancellationToken.None);
            return null;
        }
        finally
        {
            var depth = Interlocked.Decrement(ref _waiting); // not inside metrics?.(…): that would skip it without metrics
            metrics?.ScoringQueueDepth(depth);
            _local.TryRemove(jobId, out _);
        }
    }

    /// <summary>Runs waiting jobs: those submitted through the API, deferred by overload, or abandoned by a process that stopped.</summary>
    internal async Task PickUpWaitingJobsAsync(CancellationToken cancellationToken)
    {
        var free = _options.MaxConcurrency + _options.MaxQueue - Volatile.Read(ref _waiting);
        if (free <= 0)
        {
            return;
        }

        foreach (var id in await jobs.ListClaimableAsync(free, cancellationToken))
        {
            if (await jobs.GetAsync(id, cancellationToken) is { } job)
            {
                await TryStartAsync(job, cancellationToken);
            }
        }
    }

    private Task ReportProgressAsync(string jobId, string stage, CancellationToken cancellationToken) =>
        jobs.ReportProgressAsync(jobId, Owner, stage, Lease, cancellationToken);

    /// <summary>
    /// Stops this process's jobs: each one running is cancelled and put back in the queue, and this waits (within
    /// <paramref name="cancellationToken"/>, the host's shutdown time) until they have, so that nothing they use is disposed under them.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll(_local.Values).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown time is up: the leases of jobs still running run out and another process takes them over.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _stopping.Dispose();
        _slots.Dispose();
    }

    private sealed class Progress(ScoringCoordinator owner, string jobId, CancellationToken token) : IScoringProgress
    {
        public Task ReportAsync(string stage) => owner.ReportProgressAsync(jobId, stage, token);
    }
}

/// <summary>Polls for jobs this process can take.</summary>
internal sealed class ScoringWorker(ScoringCoordinator coordinator, IOptions<ScoringOptions> options, ILogger<ScoringWorker> logger) : BackgroundService
{
    /// <summary>At shutdown, running jobs are returned to the queue before the host disposes what they use.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await coordinator.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.PollSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await coordinator.PickUpWaitingJobsAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage briefly unavailable or locked: try again on the next tick.
                logger.ScoringWorkerError(ex.GetType().Name);
            }
        }
    }
}
