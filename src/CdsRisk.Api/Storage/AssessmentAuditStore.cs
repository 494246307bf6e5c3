using System.Text;

namespace CdsRisk.Api.Storage;

/// <summary>
/// One assessment as the audit API shows it; <see cref="Detail"/> (UTF-8 JSON) holds inputs, cards and model details (no images,
/// no tokens): its own <see cref="DetailJson"/>, or a <see cref="Shared"/> detail made for this hook instance.
/// </summary>
public sealed record AuditedAssessment(
    string Id, string PatientRef, string? FhirServer, string Hook, string HookInstance, DateTimeOffset AssessedAt,
    string? ModelId, string? ModelVersion, string? ModelSha256, string Outcome, string? Risk, double? PreScore, string? StudyUid,
    byte[] DetailJson, string? OutboxId)
{
    /// <summary>Set for calls answered from a kept answer: the detail is stored once for all of them.</summary>
    public Pipeline.SharedDetail? Shared { get; init; }

    public byte[] Detail() => Shared?.For(HookInstance) ?? DetailJson;
}

public sealed record AuditQuery(string? Patient, DateTimeOffset? From, DateTimeOffset? To, string? Model, string? Outcome, string? Risk, int Limit, int Offset);

/// <summary>The record of every assessment the service made, for auditors.</summary>
public sealed class AssessmentAuditStore(Database database)
{
    private const string Columns = "id, patient_ref, fhir_server, hook, hook_instance, assessed_ms, model_id, model_version, model_sha256, outcome, risk, pre_score, study_uid, detail_json, outbox_id, detail_id";

    // A row's own detail, or the shared one it names (see AuditedAssessment.Shared).
    private const string Select = $"SELECT {Columns}, template_json, stand_in, derived_json FROM risk_assessments LEFT JOIN assessment_details USING (detail_id)";

    /// <summary>One row per hook instance: a repeated hook (same hookInstance) replaces nothing and adds nothing.</summary>
    public Task RecordAsync(AuditedAssessment a, CancellationToken cancellationToken) => RecordAsync([a], cancellationToken);

    /// <summary>Several rows in one transaction (the recorder's group commit).</summary>
    public async Task RecordAsync(IReadOnlyList<AuditedAssessment> rows, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await RecordAsync(connection, rows, cancellationToken);
    }

    /// <summary>Opens a connection for a writer that keeps one (<see cref="RecordAsync(System.Data.Common.DbConnection, IReadOnlyList{AuditedAssessment}, CancellationToken)"/>).</summary>
    public Task<System.Data.Common.DbConnection> OpenAsync(CancellationToken cancellationToken) => database.OpenAsync(cancellationToken);

    /// <summary>Several rows in one transaction on a connection the caller keeps open (no open per batch; SQLite's page cache stays warm).</summary>
    public async Task RecordAsync(System.Data.Common.DbConnection connection, IReadOnlyList<AuditedAssessment> rows, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Details arrive as UTF-8 bytes and are stored as text by the database itself (no UTF-16 string on the way).
        string AsText(string parameter) => database.IsPostgres ? $"convert_from({parameter}, 'UTF8')" : $"CAST({parameter} AS TEXT)";

        // Shared details first, once each (kept answers: many rows, one detail).
        foreach (var shared in rows.Select(r => r.Shared).OfType<Pipeline.SharedDetail>().DistinctBy(d => d.Id))
        {
            await connection.ExecuteAsync(transaction, $"""
                INSERT INTO assessment_details (detail_id, template_json, stand_in, derived_json)
                VALUES (@id, {AsText("@template")}, @standIn, @derived)
                ON CONFLICT (detail_id) DO NOTHING;
                """, cancellationToken,
                ("@id", shared.Id), ("@template", shared.TemplateJson), ("@standIn", shared.Uuids.StandIn), ("@derived", Pipeline.SharedDetail.DerivedJson(shared.Uuids)));
        }

        // One command for the batch (the provider keeps its statement), its parameters set again for each row.
        // Names with their '@', as in the SQL: the provider then binds them without looking for a prefix on every row.
        var names = new[] { "@id", "@patient", "@server", "@hook", "@instance", "@at", "@modelId", "@modelVersion", "@sha", "@outcome", "@risk", "@pre", "@study", "@detail", "@outbox", "@detailId" };
        await using var command = connection.Command(transaction, $"""
            INSERT INTO risk_assessments ({Columns})
            VALUES (@id, @patient, @server, @hook, @instance, @at, @modelId, @modelVersion, @sha, @outcome, @risk, @pre, @study, {AsText("@detail")}, @outbox, @detailId)
            ON CONFLICT (id) DO NOTHING;
            """, [.. names.Select(n => (n, (object?)null))]);
        foreach (var a in rows)
        {
            object?[] values = [a.Id, a.PatientRef, a.FhirServer, a.Hook, a.HookInstance, a.AssessedAt.ToUnixMs(), a.ModelId, a.ModelVersion, a.ModelSha256,
                a.Outcome, a.Risk, a.PreScore, a.StudyUid, a.Shared is null ? a.DetailJson : [], a.OutboxId, a.Shared?.Id];
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
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

    // Reads rows; a shared detail is read once per query however many of its rows come back.
    private static Func<System.Data.Common.DbDataReader, AuditedAssessment> Mapper()
    {
        var shared = new Dictionary<string, Pipeline.SharedDetail>(StringComparer.Ordinal);
        return r =>
        {
            var detail = r.StringOrNull(15) is { } detailId
                ? shared.TryGetValue(detailId, out var known)
                    ? known
                    : shared[detailId] = Pipeline.SharedDetail.FromStored(detailId, Encoding.UTF8.GetBytes(r.GetString(16)), r.GetString(17), r.GetString(18))
                : null;
            var hookInstance = r.GetString(4);
            return new(
                r.GetString(0), r.GetString(1), r.StringOrNull(2), r.GetString(3), hookInstance, Sql.FromUnixMs(r.Int64(5)),
                r.StringOrNull(6), r.StringOrNull(7), r.StringOrNull(8), r.GetString(9), r.StringOrNull(10), r.DoubleOrNull(11), r.StringOrNull(12),
                detail?.For(hookInstance) ?? Encoding.UTF8.GetBytes(r.GetString(13)), r.StringOrNull(14));
        };
    }
}
