using System.Collections.Concurrent;
using System.Data.Common;
using CdsRisk.Api.Diagnostics;
using CdsRisk.Api.Storage;

namespace CdsRisk.Api.Auth;

/// <summary>
/// CDS Hooks 2.0 §Trusting CDS Clients: a <c>jti</c> is accepted once per issuer until the token expires. The service's database
/// (<see cref="UsedTokenStore"/>) is the record shared by replicas and kept across restarts; in front of it an in-memory set answers
/// a replay to this process at once and makes concurrent uses of one jti in this process see each other, so a first use costs one
/// small INSERT.
/// </summary>
public sealed class JtiReplayCache(TimeProvider time, UsedTokenStore? store = null, ILogger<JtiReplayCache>? logger = null)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private long _nextSweep;

    /// <returns>False when this (issuer, jti) was already used, here or by another replica, and has not expired.</returns>
    public async ValueTask<bool> TryUseAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Sweep(now);
        var key = issuer + "\n" + jti;
        if (!_seen.TryAdd(key, expiresAt))
        {
            // An expired entry not yet swept: the old token cannot be valid any more, so the jti may be used again.
            if (!_seen.TryGetValue(key, out var previous) || previous >= now || !_seen.TryUpdate(key, expiresAt, previous))
            {
                return false;
            }
        }

        if (store is null)
        {
            return true;
        }

        try
        {
            return await store.TryRecordAsync(issuer, jti, expiresAt, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The database is unreachable or too slow (UsedTokenStore.WriteTimeout): this process's own record still holds (once per
            // replica), and the hooks keep their answers, as the audit records wait for the database too. The lifetime cap bounds
            // what a replay across replicas could reuse meanwhile.
            logger?.ReplayStoreUnavailable(e.GetType().Name);
            return true;
        }
    }

    private void Sweep(DateTimeOffset now)
    {
        var due = Interlocked.Read(ref _nextSweep);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextSweep, now.AddMinutes(1).UtcTicks, due) != due)
        {
            return;
        }

        foreach (var (key, expiresAt) in _seen)
        {
            if (expiresAt < now)
            {
                _seen.TryRemove(key, out _);
            }
        }
    }
}

/// <summary>Deletes expired token ids from the database every few minutes (every replica may; the DELETE is idempotent).</summary>
internal sealed class UsedTokenSweeper(UsedTokenStore store, TimeProvider time, ILogger<UsedTokenSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await store.DeleteExpiredAsync(stoppingToken);
                }
                catch (Exception e) when (e is DbException or TimeoutException or InvalidOperationException)
                {
                    logger.ReplayStoreUnavailable(e.GetType().Name);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
