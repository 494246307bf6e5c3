namespace CdsRisk.Api.Storage;

/// <summary>A stored worklist row: the entry as JSON, with the columns the sweep replaces it by.</summary>
public sealed record FollowUpRow(string FhirServer, string PatientId, string Status, string? NextDue, string EntryJson, string SweepId, DateTimeOffset SweptAt);

/// <summary>A stored sweep run; the summary (counts, failures) is JSON written when the run ends.</summary>
public sealed record FollowUpSweepRow(string Id, string State, DateTimeOffset Started, DateTimeOffset? Finished, string? SummaryJson);

/// <summary>
/// The follow-up worklist (issue 17): one row per (FHIR server, patient) on study, written by the sweep. Every write is an upsert on
/// that key, so a sweep run twice, or by two replicas, leaves the same rows.
/// </summary>
public sealed class FollowUpStore(Database database)
{
    public async Task UpsertAsync(FollowUpRow row, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            INSERT INTO follow_up_worklist (fhir_server, patient_id, status, next_due, entry_json, sweep_id, swept_ms)
            VALUES (@server, @patient, @status, @next, @json, @sweep, @swept)
            ON CONFLICT (fhir_server, patient_id) DO UPDATE SET status = excluded.status, next_due = excluded.next_due,
                entry_json = excluded.entry_json, sweep_id = excluded.sweep_id, swept_ms = excluded.swept_ms;
            """, cancellationToken, ("server", row.FhirServer), ("patient", row.PatientId), ("status", row.Status), ("next", row.NextDue),
            ("json", row.EntryJson), ("sweep", row.SweepId), ("swept", row.SweptAt.ToUnixMs()));
    }

    /// <summary>The patient is no longer on study (withdrawn, off study, or no ResearchSubject for the trial any more).</summary>
    public async Task<int> RemoveAsync(string fhirServer, string patientId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM follow_up_worklist WHERE fhir_server = @server AND patient_id = @patient;",
            cancellationToken, ("server", fhirServer), ("patient", patientId));
    }

    /// <summary>Keeps a row this sweep could not refresh (its patient's record was not read): it is not removed as unseen.</summary>
    public async Task TouchAsync(string fhirServer, string patientId, string sweepId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "UPDATE follow_up_worklist SET sweep_id = @sweep WHERE fhir_server = @server AND patient_id = @patient;",
            cancellationToken, ("server", fhirServer), ("patient", patientId), ("sweep", sweepId));
    }

    /// <summary>Rows of this server the given sweep did not see (its subject search was complete, so they are off the list).</summary>
    public async Task<int> RemoveNotSweptAsync(string fhirServer, string sweepId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM follow_up_worklist WHERE fhir_server = @server AND sweep_id <> @sweep;",
            cancellationToken, ("server", fhirServer), ("sweep", sweepId));
    }

    public async Task<List<FollowUpRow>> ListAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync(
            "SELECT fhir_server, patient_id, status, next_due, entry_json, sweep_id, swept_ms FROM follow_up_worklist ORDER BY fhir_server, patient_id;",
            r => new FollowUpRow(r.GetString(0), r.GetString(1), r.GetString(2), r.StringOrNull(3), r.GetString(4), r.GetString(5), Sql.FromUnixMs(r.Int64(6))),
            cancellationToken);
    }

    public async Task StartSweepAsync(string id, string owner, DateTimeOffset started, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "INSERT INTO follow_up_sweeps (id, owner, state, started_ms) VALUES (@id, @owner, 'running', @started);",
            cancellationToken, ("id", id), ("owner", owner), ("started", started.ToUnixMs()));
    }

    public async Task FinishSweepAsync(string id, string state, DateTimeOffset finished, string summaryJson, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "UPDATE follow_up_sweeps SET state = @state, finished_ms = @finished, summary_json = @summary WHERE id = @id;",
            cancellationToken, ("id", id), ("state", state), ("finished", finished.ToUnixMs()), ("summary", summaryJson));
    }

    /// <summary>The latest sweep run (running or ended), or null before the first.</summary>
    public async Task<FollowUpSweepRow?> LastSweepAsync(bool finishedOnly, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync(
            "SELECT id, state, started_ms, finished_ms, summary_json FROM follow_up_sweeps"
            + (finishedOnly ? " WHERE finished_ms IS NOT NULL" : "") + " ORDER BY started_ms DESC LIMIT 1;",
            r => new FollowUpSweepRow(r.GetString(0), r.GetString(1), Sql.FromUnixMs(r.Int64(2)), r.Int64OrNull(3) is { } f ? Sql.FromUnixMs(f) : null, r.StringOrNull(4)),
            cancellationToken);
        return rows.FirstOrDefault();
    }
}
