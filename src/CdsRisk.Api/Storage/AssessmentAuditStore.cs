using System.Text;

namespace CdsRisk.Api.Storage;

/// <summary>
/// One assessment as the audit API shows it; <see cref="DetailJson"/> (UTF-8 JSON) holds inputs, cards and model details (no images,
/// no tokens), exactly as answered. <see cref="ContentSha256"/> is the hash of the call's content (hookInstance and token aside).
/// </summary>
public sealed record AuditedAssessment(
    string Id, string PatientRef, string? FhirServer, string Hook, string HookInstance, DateTimeOffset AssessedAt,
    string? ModelId, string? ModelVersion, string? ModelSha256, string Outcome, string? Risk, double? PreScore, string? StudyUid,
    byte[] DetailJson, string? OutboxId, string? ContentSha256 = null);

/// <summary>What storing an audit row found: a new row, the same call again (a client retry), or a hookInstance already used for other content.</summary>
public enum AuditInsert
{
    Stored,
    SameCallAgain,
    HookInstanceReused,
}

public sealed record AuditQuery(string? Patient, DateTimeOffset? From, DateTimeOffset? To, string? Model, string? Outcome, string? Risk, int Limit, int Offset);

/// <summary>The record of every assessment the service made, for auditors.</summary>
public sealed class AssessmentAuditStore(Database database)
{
    private const string Columns = "id, patient_ref, fhir_server, hook, hook_instance, assessed_ms, model_id, model_version, model_sha256, outcome, risk, pre_score, study_uid, detail_json, outbox_id, content_sha256";

    private const string Select = $"SELECT {Columns} FROM risk_assessments";

    /// <summary>One row per hook instance: a repeated hook (same hookInstance) replaces nothing and adds nothing.</summary>
    public async Task<AuditInsert> RecordAsync(AuditedAssessment a, CancellationToken cancellationToken) => (await RecordAsync([a], cancellationToken))[0];

    /// <summary>Several rows in one transaction (the recorder's group commit).</summary>
    public async Task<IReadOnlyList<AuditInsert>> RecordAsync(IReadOnlyList<AuditedAssessment> rows, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await RecordAsync(connection, rows, cancellationToken);
    }

    /// <summary>Opens a connection for a writer that keeps one (<see cref="RecordAsync(System.Data.Common.DbConnection, IReadOnlyList{AuditedAssessment}, CancellationToken)"/>).</summary>
    public Task<System.Data.Common.DbConnection> OpenAsync(CancellationToken cancellationToken) => database.OpenAsync(cancellationToken);

    /// <summary>
    /// Several rows in one transaction on a connection the caller keeps open (no open per batch; SQLite's page cache stays warm).
    /// A row whose hookInstance is already stored is not written again; the result says whether the stored one had the same content.
    /// </summary>
    public async Task<IReadOnlyList<AuditInsert>> RecordAsync(System.Data.Common.DbConnection connection, IReadOnlyList<AuditedAssessment> rows, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Details arrive as UTF-8 bytes and are stored as text by the database itself (no UTF-16 string on the way).
        var detail = database.IsPostgres ? "convert_from(@detail, 'UTF8')" : "CAST(@detail AS TEXT)";

        // One command for the batch (the provider keeps its statement), its parameters set again for each row.
        // Names with their '@', as in the SQL: the provider then binds them without looking for a prefix on every row.
        var names = new[] { "@id", "@patient", "@server", "@hook", "@instance", "@at", "@modelId", "@modelVersion", "@sha", "@outcome", "@risk", "@pre", "@study", "@detail", "@outbox", "@content" };
        await using var command = connection.Command(transaction, $"""
            INSERT INTO risk_assessments ({Columns})
            VALUES (@id, @patient, @server, @hook, @instance, @at, @modelId, @modelVersion, @sha, @outcome, @risk, @pre, @study, {detail}, @outbox, @content)
            ON CONFLICT (id) DO NOTHING;
            """, [.. names.Select(n => (n, (object?)null))]);
        var results = new AuditInsert[rows.Count];
        List<int>? known = null;
        for (var r = 0; r < rows.Count; r++)
        {
            var a = rows[r];
            object?[] values = [a.Id, a.PatientRef, a.FhirServer, a.Hook, a.HookInstance, a.AssessedAt.ToUnixMs(), a.ModelId, a.ModelVersion, a.ModelSha256,
                a.Outcome, a.Risk, a.PreScore, a.StudyUid, a.DetailJson, a.OutboxId, a.ContentSha256];
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            if (await command.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                (known ??= []).Add(r);
            }
        }

        // Rare: the hookInstance was used before (a retry, or a client reusing it for another call). Compare what was assessed.
        foreach (var r in known ?? [])
        {
            var stored = await connection.ScalarAsync(transaction, "SELECT content_sha256 FROM risk_assessments WHERE id = @id;", cancellationToken, ("id", rows[r].Id));
            results[r] = stored is string hash && rows[r].ContentSha256 is { } mine && !string.Equals(hash, mine, StringComparison.Ordinal)
                ? AuditInsert.HookInstanceReused
                : AuditInsert.SameCallAgain;
        }

        await transaction.CommitAsync(cancellationToken);
        return results;
    }

    /// <summary>The content hash of the newest row of this origin (<paramref name="hook"/>) for the patient on that server, or null.</summary>
    public async Task<string?> LatestContentHashAsync(string? fhirServer, string patientRef, string hook, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync(
            "SELECT content_sha256 FROM risk_assessments WHERE patient_ref = @patient AND hook = @hook AND fhir_server = @server ORDER BY assessed_ms DESC LIMIT 1;",
            r => r.StringOrNull(0), cancellationToken, ("patient", patientRef), ("hook", hook), ("server", fhirServer));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<AuditedAssessment?> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync($"{Select} WHERE id = @id;", Mapper(), cancellationToken, ("id", id));
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<AuditedAssessment>> QueryAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var where = new StringBuilder("WHERE 1 = 1");
        var parameters = new List<(string, object?)>();
        void Add(string clause, string name, object value)
        {
            where.Append(" AND ").Append(clause);
            parameters.Add((name, value));
        }

        if (query.Patient is { Length: > 0 } patient) Add("patient_ref = @patient", "patient", patient.Contains('/', StringComparison.Ordinal) ? patient : "Patient/" + patient);
        if (query.From is { } from) Add("assessed_ms >= @from", "from", from.ToUnixMs());
        if (query.To is { } to) Add("assessed_ms <= @to", "to", to.ToUnixMs());
        if (query.Model is { Length: > 0 } model)
        {
            where.Append(" AND (model_id = @model OR model_sha256 = @model OR (model_id || '|' || model_version) = @model)");
            parameters.Add(("model", model));
        }

        if (query.Outcome is { Length: > 0 } outcome) Add("outcome = @outcome", "outcome", outcome);
        if (query.Risk is { Length: > 0 } risk) Add("risk = @risk", "risk", risk);
        parameters.Add(("limit", query.Limit));
        parameters.Add(("offset", query.Offset));

        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync($"{Select} {where} ORDER BY assessed_ms DESC, id LIMIT @limit OFFSET @offset;",
            Mapper(), cancellationToken, [.. parameters]);
    }

    private static Func<System.Data.Common.DbDataReader, AuditedAssessment> Mapper() => r => new(
        r.GetString(0), r.GetString(1), r.StringOrNull(2), r.GetString(3), r.GetString(4), Sql.FromUnixMs(r.Int64(5)),
        r.StringOrNull(6), r.StringOrNull(7), r.StringOrNull(8), r.GetString(9), r.StringOrNull(10), r.DoubleOrNull(11), r.StringOrNull(12),
        Encoding.UTF8.GetBytes(r.GetString(13)), r.StringOrNull(14), r.StringOrNull(15));
}
