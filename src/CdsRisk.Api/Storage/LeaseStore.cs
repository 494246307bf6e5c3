namespace CdsRisk.Api.Storage;

/// <summary>
/// Named leases shared by all replicas through the database (e.g. "the outbox is drained by one process at a time").
/// A lease is taken when free or expired, and renewed by its owner.
/// </summary>
public sealed class LeaseStore(Database database, TimeProvider time)
{
    public async Task<bool> TryAcquireAsync(string name, string owner, TimeSpan duration, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(null, """
            INSERT INTO leases (name, owner, until_ms) VALUES (@name, @owner, @until)
            ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms
            WHERE leases.until_ms < @now OR leases.owner = excluded.owner;
            """, cancellationToken, ("name", name), ("owner", owner), ("until", (now + duration).ToUnixMs()), ("now", now.ToUnixMs()));
        return changed == 1;
    }

    public async Task ReleaseAsync(string name, string owner, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "DELETE FROM leases WHERE name = @name AND owner = @owner;", cancellationToken, ("name", name), ("owner", owner));
    }
}
