namespace CdsRisk.Api.Storage;

/// <summary>Where a scoring job stands; stored and sent as <c>queued</c>, <c>running</c>, <c>succeeded</c>, <c>failed</c>.</summary>
public enum ScoringJobState
{
    Queued,
    Running,
    Succeeded,
    Failed,
}

public sealed record ScoringJobRow(
    string Id, string Key, ScoringJobState State, string Progress, string RequestJson, string? ResultJson, string? Error,
    int Attempts, DateTimeOffset Created, DateTimeOffset Updated);

/// <summary>
/// Scoring jobs, one per key (study, model, clinical features), shared by all replicas: a job is created once,
/// claimed by one process at a time through a lease, and its result read by every process.
/// </summary>
public sealed class ScoringJobStore(Database database, TimeProvider time)
{
    private const string Columns = "id, job_key, state, progress, request_json, result_json, error, attempts, created_ms, updated_ms";

    /// <summary>Creates the job for <paramref name="key"/> unless one exists; returns the job that stands for the key, and whether it is new.</summary>
    public async Task<(ScoringJobRow Job, bool Created)> CreateOrGetAsync(string id, string key, string requestJson, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        var inserted = await connection.ExecuteAsync(null, """
            INSERT INTO scoring_jobs (id, job_key, state, progress, request_json, created_ms, updated_ms)
            VALUES (@id, @key, @state, 'queued', @request, @now, @now)
            ON CONFLICT (job_key) DO NOTHING;
            """, cancellationToken, ("id", id), ("key", key), ("state", ScoringJobState.Queued.Stored()), ("request", requestJson), ("now", now));
        var job = (await connection.QueryAsync($"SELECT {Columns} FROM scoring_jobs WHERE job_key = @key;", Map, cancellationToken, ("key", key)))[0];
        return (job, inserted == 1);
    }

    /// <summary>Keeps a job that failed before it could be described (e.g. a study whose patient could not be resolved), with the reason; never retried.</summary>
    public async Task<ScoringJobRow> CreateFailedAsync(string id, string key, string requestJson, string error, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            INSERT INTO scoring_jobs (id, job_key, state, progress, request_json, error, created_ms, updated_ms)
            VALUES (@id, @key, @state, 'failed', @request, @error, @now, @now);
            """, cancellationToken, ("id", id), ("key", key), ("state", ScoringJobState.Failed.Stored()), ("request", requestJson), ("error", error), ("now", now));
        return (await connection.QueryAsync($"SELECT {Columns} FROM scoring_jobs WHERE id = @id;", Map, cancellationToken, ("id", id)))[0];
    }

    public async Task<ScoringJobRow?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync($"SELECT {Columns} FROM scoring_jobs WHERE id = @id;", Map, cancellationToken, ("id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>The latest finished job that computed the score with this cache key (from whichever DICOMweb server), if any.</summary>
    public async Task<ScoringJobRow?> FindSucceededAsync(string cacheKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // Job keys are "<DICOMweb base>|<cache key>"; cache keys hold digits, dots, hex and '|' only, nothing LIKE reads as a wildcard.
        var rows = await connection.QueryAsync($"SELECT {Columns} FROM scoring_jobs WHERE job_key LIKE @suffix AND state = @succeeded ORDER BY updated_ms DESC LIMIT 1;",
            Map, cancellationToken, ("suffix", "%|" + cacheKey), ("succeeded", ScoringJobState.Succeeded.Stored()));
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>
    /// Takes the job for this process when it is queued, or running under an expired lease (its owner died), or failed and retry is asked for.
    /// Exactly one of several concurrent callers gets true.
    /// </summary>
    public async Task<bool> TryClaimAsync(string id, string owner, TimeSpan lease, bool retryFailed, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var connection = await database.OpenAsync(cancellationToken);
        var changed = await connection.ExecuteAsync(null, """
            UPDATE scoring_jobs
            SET state = @running, progress = 'claimed', lease_owner = @owner, lease_until_ms = @until, attempts = attempts + 1, updated_ms = @now, error = NULL
            WHERE id = @id
              AND (state = @queued OR (state = @running AND lease_until_ms < @now) OR (@retry = 1 AND state = @failed));
            """, cancellationToken,
            ("running", ScoringJobState.Running.Stored()), ("owner", owner), ("until", (now + lease).ToUnixMs()), ("now", now.ToUnixMs()),
            ("id", id), ("queued", ScoringJobState.Queued.Stored()), ("failed", ScoringJobState.Failed.Stored()), ("retry", retryFailed ? 1 : 0));
        return changed == 1;
    }

    /// <summary>Ids of jobs waiting for a process: queued, or abandoned by a process that died.</summary>
    public async Task<IReadOnlyList<string>> ListClaimableAsync(int limit, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow().ToUnixMs();
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync("""
            SELECT id FROM scoring_jobs
            WHERE state = @queued OR (state = @running AND lease_until_ms < @now)
            ORDER BY created_ms LIMIT @limit;
            """, r => r.GetString(0), cancellationToken,
            ("queued", ScoringJobState.Queued.Stored()), ("running", ScoringJobState.Running.Stored()), ("now", now), ("limit", limit));
    }

    public Task ReportProgressAsync(string id, string owner, string progress, TimeSpan lease, CancellationToken cancellationToken) =>
        UpdateOwnedAsync(id, owner, "progress = @progress, lease_until_ms = @until", cancellationToken,
            ("progress", progress), ("until", (time.GetUtcNow() + lease).ToUnixMs()));

    public Task CompleteAsync(string id, string owner, string resultJson, CancellationToken cancellationToken) =>
        UpdateOwnedAsync(id, owner, "state = @state, progress = 'done', result_json = @result, lease_owner = NULL, lease_until_ms = NULL", cancellationToken,
            ("state", ScoringJobState.Succeeded.Stored()), ("result", resultJson));

    public Task FailAsync(string id, string owner, string error, CancellationToken cancellationToken) =>
        UpdateOwnedAsync(id, owner, "state = @state, progress = 'failed', error = @error, lease_owner = NULL, lease_until_ms = NULL", cancellationToken,
            ("state", ScoringJobState.Failed.Stored()), ("error", error));

    /// <summary>Puts a job this process claimed back in the queue (the process is stopping): another process, or this one after a restart, takes it.</summary>
    public Task ReturnAsync(string id, string owner, CancellationToken cancellationToken) =>
        UpdateOwnedAsync(id, owner, "state = @state, progress = 'queued', lease_owner = NULL, lease_until_ms = NULL", cancellationToken,
            ("state", ScoringJobState.Queued.Stored()));

    private async Task UpdateOwnedAsync(string id, string owner, string assignments, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, $"UPDATE scoring_jobs SET {assignments}, updated_ms = @now WHERE id = @id AND lease_owner = @owner;",
            cancellationToken, [.. parameters, ("now", time.GetUtcNow().ToUnixMs()), ("id", id), ("owner", owner)]);
    }

    private static ScoringJobRow Map(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), Sql.ParseStored<ScoringJobState>(r.GetString(2), "scoring_jobs.state"), r.GetString(3), r.GetString(4), r.StringOrNull(5), r.StringOrNull(6),
        (int)r.Int64(7), Sql.FromUnixMs(r.Int64(8)), Sql.FromUnixMs(r.Int64(9)));
}
