using CdsRisk.Api.Scoring;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Scoring;

/// <summary>The coordinator on a real SQLite database, with work whose duration the test controls.</summary>
public sealed class ScoringCoordinatorTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
    private Database _database = null!;

    public async Task InitializeAsync()
    {
        _database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "cdsrisk.db" } }), new Environment(_root));
        await _database.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task ConcurrentRequestsForOneKey_RunTheWorkOnce_AndAllGetItsResult()
    {
        var work = new ControlledWork();
        using var coordinator = Coordinator(work, maxConcurrency: 2, maxQueue: 4);

        var waits = Enumerable.Range(0, 5).Select(_ => coordinator.GetOrStartAsync(Request("1.2.3"), TimeSpan.FromSeconds(10), CancellationToken.None)).ToList();
        await Task.Delay(200);
        work.Release();
        var results = await Task.WhenAll(waits);

        Assert.Equal(1, work.Runs);
        Assert.All(results, r => Assert.Equal(0.7, Assert.IsType<ScoringAttempt.Completed>(r).Outcome.Pre));
        // Stored: a later request is answered from the cache without running the work again.
        Assert.Equal(0.7, (await coordinator.GetCachedAsync(Request("1.2.3"), CancellationToken.None))!.Pre);
        Assert.Equal(1, work.Runs);
    }

    [Fact]
    public async Task GracefulShutdown_ReturnsARunningJobToTheQueue_AndWaitsForIt()
    {
        var work = new ControlledWork();
        var jobs = new ScoringJobStore(_database, TimeProvider.System);
        var signal = new ScoreStoredSignal();
        var coordinator = Coordinator(work, maxConcurrency: 1, maxQueue: 1, signal);
        var started = await coordinator.GetOrStartAsync(Request("1.2.9"), TimeSpan.FromMilliseconds(100), CancellationToken.None);
        var jobId = Assert.IsType<ScoringAttempt.Pending>(started).JobId;
        Assert.Equal(ScoringJobState.Running, (await jobs.GetAsync(jobId, CancellationToken.None))!.State);

        await coordinator.StopAsync(CancellationToken.None);
        coordinator.Dispose();

        var job = (await jobs.GetAsync(jobId, CancellationToken.None))!;
        Assert.Equal((ScoringJobState.Queued, "queued"), (job.State, job.Progress));
        Assert.Contains(jobId, await jobs.ListClaimableAsync(10, CancellationToken.None));
        Assert.False(signal.Keys.TryRead(out _)); // no score was stored

        // Another process takes it over at once, without waiting for a lease to run out.
        var next = new ControlledWork();
        next.Release();
        using var other = Coordinator(next, maxConcurrency: 1, maxQueue: 1, signal);
        var done = await other.GetOrStartAsync(Request("1.2.9"), TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(0.7, Assert.IsType<ScoringAttempt.Completed>(done).Outcome.Pre);
        Assert.True(signal.Keys.TryRead(out var stored));
        Assert.Equal(Request("1.2.9").CacheKey, stored);
    }

    [Fact]
    public async Task WorkSlowerThanTheWait_IsPending_AndFinishesInTheBackground()
    {
        var work = new ControlledWork();
        using var coordinator = Coordinator(work, maxConcurrency: 1, maxQueue: 1);

        var first = await coordinator.GetOrStartAsync(Request("1.2.4"), TimeSpan.FromMilliseconds(100), CancellationToken.None);

        var pending = Assert.IsType<ScoringAttempt.Pending>(first);
        Assert.False(pending.Overloaded);
        work.Release();
        var later = await coordinator.GetOrStartAsync(Request("1.2.4"), TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Equal(0.7, Assert.IsType<ScoringAttempt.Completed>(later).Outcome.Pre);
    }

    [Fact]
    public async Task BeyondConcurrencyAndQueue_NewStudiesArePendingAsOverloaded_AndWaitInStorage()
    {
        var work = new ControlledWork();
        using var coordinator = Coordinator(work, maxConcurrency: 1, maxQueue: 1);

        var running = await coordinator.GetOrStartAsync(Request("1.2.5"), TimeSpan.Zero, CancellationToken.None);
        var queued = await coordinator.GetOrStartAsync(Request("1.2.6"), TimeSpan.Zero, CancellationToken.None);
        var refused = await coordinator.GetOrStartAsync(Request("1.2.7"), TimeSpan.Zero, CancellationToken.None);

        Assert.False(Assert.IsType<ScoringAttempt.Pending>(running).Overloaded);
        Assert.False(Assert.IsType<ScoringAttempt.Pending>(queued).Overloaded);
        Assert.True(Assert.IsType<ScoringAttempt.Pending>(refused).Overloaded);
        var jobs = new ScoringJobStore(_database, TimeProvider.System);
        Assert.Single(await jobs.ListClaimableAsync(10, CancellationToken.None));

        // Capacity comes back: the worker's pick-up runs the job that was turned away.
        work.Release();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (work.Runs < 3 && DateTime.UtcNow < deadline)
        {
            await coordinator.PickUpWaitingJobsAsync(CancellationToken.None);
            await Task.Delay(50);
        }

        Assert.Equal(3, work.Runs);
    }

    [Fact]
    public async Task AJobRunningUnderAnExpiredLease_IsTakenOverByAnotherProcess()
    {
        var jobs = new ScoringJobStore(_database, TimeProvider.System);
        var (job, created) = await jobs.CreateOrGetAsync("job-1", "key-1", "{}", CancellationToken.None);
        Assert.True(created);
        Assert.True(await jobs.TryClaimAsync(job.Id, "process-a", TimeSpan.FromMilliseconds(50), retryFailed: false, CancellationToken.None));
        Assert.False(await jobs.TryClaimAsync(job.Id, "process-b", TimeSpan.FromSeconds(30), retryFailed: false, CancellationToken.None));

        await Task.Delay(120); // process-a stops renewing

        Assert.True(await jobs.TryClaimAsync(job.Id, "process-b", TimeSpan.FromSeconds(30), retryFailed: false, CancellationToken.None));
        Assert.Equal(2, (await jobs.GetAsync(job.Id, CancellationToken.None))!.Attempts);
        var (again, createdAgain) = await jobs.CreateOrGetAsync("job-2", "key-1", "{}", CancellationToken.None);
        Assert.False(createdAgain);
        Assert.Equal("job-1", again.Id);
    }

    [Fact]
    public async Task OutboxItems_AreClaimedByOneOwnerAtATime_AndEnqueuedOncePerId()
    {
        var outbox = new OutboxStore(_database, TimeProvider.System);
        Assert.True(await outbox.EnqueueAsync("ra-1", "risk-assessment", "http://fhir.test/", "{}", CancellationToken.None));
        Assert.False(await outbox.EnqueueAsync("ra-1", "risk-assessment", "http://fhir.test/", "{}", CancellationToken.None));

        var claims = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => outbox.ClaimDueAsync("owner-" + i, TimeSpan.FromSeconds(30), CancellationToken.None)));

        Assert.Single(claims, c => c is not null);
        var owner = "owner-" + Array.FindIndex(claims, c => c is not null);
        await outbox.MarkFailedAsync("ra-1", owner, "HTTP 500", DateTimeOffset.UtcNow, final: false, CancellationToken.None);
        var retried = await outbox.ClaimDueAsync("owner-x", TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.NotNull(retried);
        Assert.Equal(1, retried.Attempts);
        await outbox.MarkWrittenAsync("ra-1", "owner-x", "RiskAssessment/9/_history/1", CancellationToken.None);
        Assert.Equal(OutboxState.Written, (await outbox.GetAsync("ra-1", CancellationToken.None))!.State);
        Assert.Equal(0, await outbox.CountPendingAsync(CancellationToken.None));
    }

    [Fact]
    public async Task TheDrainLease_IsHeldByOneProcess_UntilReleasedOrExpired()
    {
        var leases = new LeaseStore(_database, TimeProvider.System);
        Assert.True(await leases.TryAcquireAsync("outbox-drain", "a", TimeSpan.FromMilliseconds(80), CancellationToken.None));
        Assert.False(await leases.TryAcquireAsync("outbox-drain", "b", TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.True(await leases.TryAcquireAsync("outbox-drain", "a", TimeSpan.FromSeconds(30), CancellationToken.None)); // renewal
        await leases.ReleaseAsync("outbox-drain", "a", CancellationToken.None);
        Assert.True(await leases.TryAcquireAsync("outbox-drain", "b", TimeSpan.FromMilliseconds(50), CancellationToken.None));
        await Task.Delay(100);
        Assert.True(await leases.TryAcquireAsync("outbox-drain", "c", TimeSpan.FromSeconds(30), CancellationToken.None));
    }

    private ScoringCoordinator Coordinator(IScoringWork work, int maxConcurrency, int maxQueue, ScoreStoredSignal? signal = null) => new(
        new ScoringJobStore(_database, TimeProvider.System),
        new ScoreCacheStore(_database, TimeProvider.System),
        work,
        signal ?? new ScoreStoredSignal(),
        Options.Create(new ScoringOptions { MaxConcurrency = maxConcurrency, MaxQueue = maxQueue }),
        TimeProvider.System,
        NullLogger<ScoringCoordinator>.Instance);

    private static ScoringRequest Request(string study) => new()
    {
        StudyInstanceUid = study,
        ClinicalFeatures = new Dictionary<string, double?> { ["age_years"] = 60 },
        ModelSha256 = new string('a', 64),
        ClinicalFeatureHash = new string('b', 64),
    };

    /// <summary>Scoring work that waits until the test releases it, and counts its runs.</summary>
    private sealed class ControlledWork : IScoringWork
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        public void Release() => _gate.TrySetResult();

        public async Task<ScoringOutcome> RunAsync(ScoringRequest request, IScoringProgress progress, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            await progress.ReportAsync("scoring");
            await _gate.Task.WaitAsync(cancellationToken);
            return new ScoringOutcome { Pre = 0.7, ModelId = "m", ModelVersion = "1", ModelSha256 = request.ModelSha256 };
        }
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
