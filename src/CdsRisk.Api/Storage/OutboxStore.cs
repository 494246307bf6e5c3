namespace CdsRisk.Api.Storage;

public static class OutboxStates
{
    public const string Pending = "pending";
    public const string Written = "written";

    /// <summary>The FHIR server refused the write for good (4xx other than 401/403/408/429): kept for the audit, not retried.</summary>
    public const string Rejected = "rejected";
}

public sealed record OutboxItem(
    string Id, string Kind, string FhirServer, string PayloadJson, string State, int Attempts, DateTimeOffset NextAttempt,
    string? LastError, string? ResultLocation, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>
/// Durable outbox for writes to the EHR's FHIR server: an item is stored before the first attempt and leaves only when written,
/// so a server that is down or refusing loses nothing, across restarts. The id is the write's deterministic identifier: enqueuing twice is one item.
/// </summary>
public sealed class OutboxStore(Database database, TimeProvider time)
{
    private const string Columns = "id, kind, fhir_server, payload_json, state, attempts, next_attempt_ms, last_error, result_location, created_ms, updated_ms";

    /// <returns>True when the item is new.</returns>
    public async Task<bool> EnqueueAsync(string id, string kind, string fhirServer, string payloadJson, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, """
            INSERT INTO outbox (id, kind, fhir_server, payload_json, state, next_attempt_ms, created_ms, updated_ms)
            VALUES (@id, @kind, @server, @payload, @pending, @now, @now, @now)
            ON CONFLICT (id) DO NOTHING;
            """, cancellationToken, ("id", id), ("kind", kind), ("server", fhirServer), ("payload", payloadJson),
            ("pending", OutboxStates.Pending), ("now", now)) == 1;
    }

    /// <summary>Claims one due item for <paramref name="owner"/>; concurrent callers never get the same item while its lease runs.</summary>
    public async Task<OutboxItem?> ClaimDueAsync(string owner, TimeSpan lease, CancellationToken cancellationToken, string? onlyId = null)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        // The lease test stands in the outer WHERE too, so PostgreSQL re-checks it on the row it locks (READ COMMITTED).
        var rows = await connection.QueryAsync($"""
            UPDATE outbox SET lease_owner = @owner, lease_until_ms = @until, updated_ms = @now
            WHERE id = (SELECT id FROM outbox
                        WHERE state = @pending AND next_attempt_ms <= @now AND (lease_until_ms IS NULL OR lease_until_ms < @now)
                              {(onlyId is null ? "" : "AND id = @only")}
                        ORDER BY next_attempt_ms LIMIT 1)
              AND state = @pending AND (lease_until_ms IS NULL OR lease_until_ms < @now)
            RETURNING {Columns};
            """, Map, cancellationToken, ("owner", owner), ("until", (now + lease).ToUnixMs()), ("now", now.ToUnixMs()),
            ("pending", OutboxStates.Pending), ("only", onlyId ?? ""));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task MarkWrittenAsync(string id, string owner, string? location, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            UPDATE outbox SET state = @written, result_location = @location, attempts = attempts + 1, last_error = NULL,
                              lease_owner = NULL, lease_until_ms = NULL, updated_ms = @now
            WHERE id = @id AND lease_owner = @owner;
            """, cancellationToken, ("written", OutboxStates.Written), ("location", location), ("now", time.GetUtcNow().ToUnixMs()),
            ("id", id), ("owner", owner));
    }

    /// <summary>Records a failed attempt; the item is retried at <paramref name="nextAttempt"/>, or kept as rejected when <paramref name="final"/>.</summary>
    public async Task MarkFailedAsync(string id, string owner, string error, DateTimeOffset nextAttempt, bool final, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            UPDATE outbox SET state = @state, last_error = @error, attempts = attempts + 1, next_attempt_ms = @next,
                              lease_owner = NULL, lease_until_ms = NULL, updated_ms = @now
            WHERE id = @id AND lease_owner = @owner;
            """, cancellationToken, ("state", final ? OutboxStates.Rejected : OutboxStates.Pending), ("error", error),
            ("next", nextAttempt.ToUnixMs()), ("now", time.GetUtcNow().ToUnixMs()), ("id", id), ("owner", owner));
    }

    public async Task<OutboxItem?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync($"SELECT {Columns} FROM outbox WHERE id = @id;", Map, cancellationToken, ("id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<int> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var count = await connection.ScalarAsync(null, "SELECT COUNT(*) FROM outbox WHERE state = @pending;", cancellationToken, ("pending", OutboxStates.Pending));
        return Convert.ToInt32(count, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static OutboxItem Map(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), (int)r.Int64(5), Sql.FromUnixMs(r.Int64(6)),
        r.StringOrNull(7), r.StringOrNull(8), Sql.FromUnixMs(r.Int64(9)), Sql.FromUnixMs(r.Int64(10)));
}
