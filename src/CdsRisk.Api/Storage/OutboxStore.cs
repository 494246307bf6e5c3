namespace CdsRisk.Api.Storage;

/// <summary>Where an outbox item stands; stored as <c>pending</c>, <c>written</c>, <c>rejected</c>, <c>dropped</c>.</summary>
public enum OutboxState
{
    /// <summary>Waiting for its first attempt, its score, or a retry.</summary>
    Pending,

    Written,

    /// <summary>The FHIR server refused the write for good (4xx other than 401/403/408/429): kept for the audit, not retried.</summary>
    Rejected,

    /// <summary>Nothing to write after all: the scoring job found the MRI not usable, so there is no PRE to record.</summary>
    Dropped,
}

/// <summary>One write waiting for, or done to, a FHIR server. <see cref="Version"/> counts how often its content was queued again.</summary>
public sealed record OutboxItem(
    string Id, string Kind, string FhirServer, string PayloadJson, OutboxState State, int Attempts, DateTimeOffset NextAttempt,
    string? LastError, string? ResultLocation, DateTimeOffset Created, DateTimeOffset Updated)
{
    public long Version { get; init; }

    /// <summary>The scoring job (its cache key) whose PRE the write waits for, if any.</summary>
    public string? ScoreKey { get; init; }

    /// <summary>SHA-256 of the payload: the same content queued again changes nothing.</summary>
    public string? ContentSha256 { get; init; }
}

/// <summary>
/// Durable outbox for writes to the EHR's FHIR server: an item is stored before the first attempt and leaves only when written,
/// so a server that is down or refusing loses nothing, across restarts. The id is the write's deterministic identifier: queuing
/// the same content twice is one item; queuing new content for the same id replaces the content and makes the item due again
/// (the newest assessment of a patient's study is the one written), whatever state the older content had reached.
/// </summary>
public sealed class OutboxStore(Database database, TimeProvider time)
{
    private const string Columns = "id, kind, fhir_server, payload_json, state, attempts, next_attempt_ms, last_error, result_location, created_ms, updated_ms, version, score_key, content_sha256";

    /// <returns>True when the item is new or its content changed (it is then due now); false when this content was queued before.</returns>
    public async Task<bool> EnqueueAsync(string id, string kind, string fhirServer, string payloadJson, CancellationToken cancellationToken,
        string? scoreKey = null, string? contentSha256 = null)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        // New content for a known id: a fresh item in all but its id (attempts and errors of the old content do not carry over).
        return await connection.ExecuteAsync(null, """
            INSERT INTO outbox (id, kind, fhir_server, payload_json, state, next_attempt_ms, created_ms, updated_ms, version, score_key, content_sha256)
            VALUES (@id, @kind, @server, @payload, @pending, @now, @now, @now, 1, @score, @sha)
            ON CONFLICT (id) DO UPDATE SET payload_json = excluded.payload_json, kind = excluded.kind, state = excluded.state,
                attempts = 0, next_attempt_ms = excluded.next_attempt_ms, last_error = NULL, result_location = NULL,
                updated_ms = excluded.updated_ms, version = outbox.version + 1, score_key = excluded.score_key,
                content_sha256 = excluded.content_sha256
            WHERE excluded.content_sha256 IS NOT NULL AND (outbox.content_sha256 IS NULL OR outbox.content_sha256 <> excluded.content_sha256);
            """, cancellationToken, ("id", id), ("kind", kind), ("server", fhirServer), ("payload", payloadJson),
            ("pending", OutboxState.Pending.Stored()), ("now", now), ("score", scoreKey), ("sha", contentSha256)) == 1;
    }

    /// <summary>The FHIR servers that have items due now (each is drained on its own, so one slow server holds up no other).</summary>
    public async Task<IReadOnlyList<string>> ServersWithDueItemsAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync("""
            SELECT DISTINCT fhir_server FROM outbox
            WHERE state = @pending AND next_attempt_ms <= @now AND (lease_until_ms IS NULL OR lease_until_ms < @now);
            """, r => r.GetString(0), cancellationToken, ("pending", OutboxState.Pending.Stored()), ("now", now));
    }

    /// <summary>Claims one due item for <paramref name="owner"/>; concurrent callers never get the same item while its lease runs.</summary>
    public async Task<OutboxItem?> ClaimDueAsync(string owner, TimeSpan lease, CancellationToken cancellationToken, string? onlyId = null, string? onlyServer = null)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        // The lease test stands in the outer WHERE too, so PostgreSQL re-checks it on the row it locks (READ COMMITTED).
        var rows = await connection.QueryAsync($"""
            UPDATE outbox SET lease_owner = @owner, lease_until_ms = @until, updated_ms = @now
            WHERE id = (SELECT id FROM outbox
                        WHERE state = @pending AND next_attempt_ms <= @now AND (lease_until_ms IS NULL OR lease_until_ms < @now)
                              {(onlyId is null ? "" : "AND id = @only")} {(onlyServer is null ? "" : "AND fhir_server = @server")}
                        ORDER BY next_attempt_ms LIMIT 1)
              AND state = @pending AND (lease_until_ms IS NULL OR lease_until_ms < @now)
            RETURNING {Columns};
            """, Map, cancellationToken, ("owner", owner), ("until", (now + lease).ToUnixMs()), ("now", now.ToUnixMs()),
            ("pending", OutboxState.Pending.Stored()), ("only", onlyId ?? ""), ("server", onlyServer ?? ""));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Marks the claimed version written; content queued again meanwhile stays pending (it is written next).</summary>
    public Task MarkWrittenAsync(string id, string owner, string? location, CancellationToken cancellationToken, long? version = null) =>
        FinishAsync(id, owner, version, OutboxState.Written, location, null, time.GetUtcNow(), cancellationToken);

    /// <summary>Records a failed attempt; the item is retried at <paramref name="nextAttempt"/>, or kept as rejected when <paramref name="final"/>.</summary>
    public Task MarkFailedAsync(string id, string owner, string error, DateTimeOffset nextAttempt, bool final, CancellationToken cancellationToken, long? version = null) =>
        FinishAsync(id, owner, version, final ? OutboxState.Rejected : OutboxState.Pending, null, error, nextAttempt, cancellationToken);

    /// <summary>Nothing to write for this version (e.g. the MRI could not be scored): kept, with the reason, for the audit.</summary>
    public Task MarkDroppedAsync(string id, string owner, string reason, CancellationToken cancellationToken, long? version = null) =>
        FinishAsync(id, owner, version, OutboxState.Dropped, null, reason, time.GetUtcNow(), cancellationToken);

    /// <summary>Puts an item back without counting an attempt (e.g. still waiting for its PRE score), due again at <paramref name="nextAttempt"/>.</summary>
    public async Task DeferAsync(string id, string owner, string reason, DateTimeOffset nextAttempt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            UPDATE outbox SET last_error = @reason, next_attempt_ms = @next, lease_owner = NULL, lease_until_ms = NULL, updated_ms = @now
            WHERE id = @id AND lease_owner = @owner;
            """, cancellationToken, ("reason", reason), ("next", nextAttempt.ToUnixMs()), ("now", time.GetUtcNow().ToUnixMs()),
            ("id", id), ("owner", owner));
    }

    /// <summary>Makes the items waiting for this score due now (the scoring job just stored it).</summary>
    public async Task<int> ScoreReadyAsync(string scoreKey, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, """
            UPDATE outbox SET next_attempt_ms = @now, updated_ms = @now
            WHERE score_key = @score AND state = @pending AND next_attempt_ms > @now;
            """, cancellationToken, ("now", now), ("score", scoreKey), ("pending", OutboxState.Pending.Stored()));
    }

    private async Task FinishAsync(string id, string owner, long? version, OutboxState state, string? location, string? error, DateTimeOffset nextAttempt,
        CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // A version queued after the claim keeps its own state: only the lease is released, and it is due at once.
        var changed = await connection.ExecuteAsync(null, $"""
            UPDATE outbox SET state = @state, result_location = @location, last_error = @error, attempts = attempts + 1, next_attempt_ms = @next,
                              lease_owner = NULL, lease_until_ms = NULL, updated_ms = @now
            WHERE id = @id AND lease_owner = @owner {(version is null ? "" : "AND version = @version")};
            """, cancellationToken, ("state", state.Stored()), ("location", location), ("error", error), ("next", nextAttempt.ToUnixMs()),
            ("now", time.GetUtcNow().ToUnixMs()), ("id", id), ("owner", owner), ("version", version ?? 0));
        if (changed == 0 && version is not null)
        {
            await connection.ExecuteAsync(null, "UPDATE outbox SET lease_owner = NULL, lease_until_ms = NULL WHERE id = @id AND lease_owner = @owner;",
                cancellationToken, ("id", id), ("owner", owner));
        }
    }

    public async Task<OutboxItem?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync($"SELECT {Columns} FROM outbox WHERE id = @id;", Map, cancellationToken, ("id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>How many items wait to be written, and when the oldest of them was queued.</summary>
    public async Task<(long Count, DateTimeOffset? Oldest)> PendingSummaryAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync("SELECT COUNT(*), MIN(created_ms) FROM outbox WHERE state = @pending;",
            r => (r.Int64(0), r.Int64OrNull(1)), cancellationToken, ("pending", OutboxState.Pending.Stored()));
        return (rows[0].Item1, rows[0].Item2 is { } ms ? Sql.FromUnixMs(ms) : null);
    }

    public async Task<int> CountPendingAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var count = await connection.ScalarAsync(null, "SELECT COUNT(*) FROM outbox WHERE state = @pending;", cancellationToken, ("pending", OutboxState.Pending.Stored()));
        return Convert.ToInt32(count, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static OutboxItem Map(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Sql.ParseStored<OutboxState>(r.GetString(4), "outbox.state"), (int)r.Int64(5), Sql.FromUnixMs(r.Int64(6)),
        r.StringOrNull(7), r.StringOrNull(8), Sql.FromUnixMs(r.Int64(9)), Sql.FromUnixMs(r.Int64(10)))
    {
        Version = r.Int64(11),
        ScoreKey = r.StringOrNull(12),
        ContentSha256 = r.StringOrNull(13),
    };
}
