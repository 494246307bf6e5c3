using CdsRisk.Api.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Storage;

/// <summary>
/// The SQLite database: opens connections and applies the numbered migrations once at start-up.
/// New tables (score cache, outbox, audit of risk assessments, jobs) are new entries in <see cref="Migrations"/>.
/// </summary>
public sealed class SqliteDatabase
{
    private readonly string _connectionString;

    public SqliteDatabase(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        var path = options.Value.Sqlite.Path;
        FilePath = System.IO.Path.IsPathRooted(path) ? path : System.IO.Path.Combine(environment.ContentRootPath, path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 10,
        }.ToString();
    }

    public string FilePath { get; }

    /// <summary>Schema steps in order; never edit a shipped step, add the next one.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE feedback (
            service_id            TEXT NOT NULL,
            card_uuid             TEXT NOT NULL,
            outcome               TEXT NOT NULL,
            outcome_timestamp     TEXT NOT NULL,
            accepted_suggestions  TEXT NULL,
            override_reason       TEXT NULL,
            received_at           TEXT NOT NULL,
            PRIMARY KEY (service_id, card_uuid, outcome, outcome_timestamp)
        );
        CREATE INDEX feedback_card ON feedback (card_uuid);
        """,
    ];

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        var directory = System.IO.Path.GetDirectoryName(FilePath);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, "PRAGMA journal_mode=WAL;", cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var version = Convert.ToInt32(await ScalarAsync(connection, transaction, "PRAGMA user_version;", cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
        for (var step = version; step < Migrations.Length; step++)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = Migrations[step] + $"\nPRAGMA user_version = {step + 1};";
            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return Migrations.Length;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, SqliteTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return await command.ExecuteScalarAsync(cancellationToken);
    }
}

/// <summary>Creates the data folder and tables before the host accepts requests.</summary>
internal sealed class StorageInitializer(SqliteDatabase database, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var version = await database.MigrateAsync(cancellationToken);
        logger.StorageReady(version);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
