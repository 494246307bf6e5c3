using System.Data.Common;
using CdsRisk.Api.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Npgsql;

namespace CdsRisk.Api.Storage;

/// <summary>
/// The service's own database: SQLite by default (one process), PostgreSQL when several replicas share state.
/// All SQL is written once in the common subset of both (ON CONFLICT, RETURNING, @parameters, BIGINT times in Unix ms, TEXT JSON).
/// </summary>
public sealed class Database : IAsyncDisposable
{
    private readonly string _connectionString;
    private readonly NpgsqlDataSource? _postgres;
    private readonly string _contentRoot;
    private readonly Lazy<Task<int>> _migrated;

    public Database(IOptions<StorageOptions> options, IHostEnvironment environment)
    {
        var value = options.Value;
        _contentRoot = environment.ContentRootPath;
        _migrated = new(() => MigrateAsync(CancellationToken.None));
        IsPostgres = string.Equals(value.Provider, StorageOptions.PostgresProvider, StringComparison.OrdinalIgnoreCase);
        if (IsPostgres)
        {
            _postgres = NpgsqlDataSource.Create(value.PostgreSql.ConnectionString);
            _connectionString = value.PostgreSql.ConnectionString;
            Description = "PostgreSQL";
        }
        else
        {
            var path = value.Sqlite.Path;
            FilePath = Path.IsPathRooted(path) ? path : Path.Combine(environment.ContentRootPath, path);
            _connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = FilePath,
                Mode = SqliteOpenMode.ReadWriteCreate,
                DefaultTimeout = 10,
                Pooling = true,
            }.ToString();
            Description = "SQLite";
        }
    }

    public bool IsPostgres { get; }

    /// <summary>The SQLite file (null for PostgreSQL).</summary>
    public string? FilePath { get; }

    public string Description { get; }

    /// <summary>Schema steps in order; never edit a shipped step, add the next one. Types are those both engines read the same way.</summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE IF NOT EXISTS feedback (
            service_id            TEXT NOT NULL,
            card_uuid             TEXT NOT NULL,
            outcome               TEXT NOT NULL,
            outcome_timestamp     TEXT NOT NULL,
            accepted_suggestions  TEXT NULL,
            override_reason       TEXT NULL,
            received_at           TEXT NOT NULL,
            PRIMARY KEY (service_id, card_uuid, outcome, outcome_timestamp)
        );
        CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid);
        """,
        """
        CREATE TABLE IF NOT EXISTS score_cache (
            cache_key      TEXT PRIMARY KEY,
            study_uid      TEXT NOT NULL,
            model_sha256   TEXT NOT NULL,
            features_hash  TEXT NOT NULL,
            result_json    TEXT NOT NULL,
            created_ms     BIGINT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS scoring_jobs (
            id             TEXT PRIMARY KEY,
            job_key        TEXT NOT NULL UNIQUE,
            state          TEXT NOT NULL,
            progress       TEXT NOT NULL,
            request_json   TEXT NOT NULL,
            result_json    TEXT NULL,
            error          TEXT NULL,
            lease_owner    TEXT NULL,
            lease_until_ms BIGINT NULL,
            attempts       INTEGER NOT NULL DEFAULT 0,
            created_ms     BIGINT NOT NULL,
            updated_ms     BIGINT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS scoring_jobs_state ON scoring_jobs (state, updated_ms);
        CREATE TABLE IF NOT EXISTS outbox (
            id              TEXT PRIMARY KEY,
            kind            TEXT NOT NULL,
            fhir_server     TEXT NOT NULL,
            payload_json    TEXT NOT NULL,
            state           TEXT NOT NULL,
            attempts        INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms BIGINT NOT NULL,
            last_error      TEXT NULL,
            result_location TEXT NULL,
            lease_owner     TEXT NULL,
            lease_until_ms  BIGINT NULL,
            created_ms      BIGINT NOT NULL,
            updated_ms      BIGINT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_ms);
        CREATE TABLE IF NOT EXISTS risk_assessments (
            id               TEXT PRIMARY KEY,
            patient_ref      TEXT NOT NULL,
            fhir_server      TEXT NULL,
            hook             TEXT NOT NULL,
            hook_instance    TEXT NOT NULL,
            assessed_ms      BIGINT NOT NULL,
            model_id         TEXT NULL,
            model_version    TEXT NULL,
            model_sha256     TEXT NULL,
            outcome          TEXT NOT NULL,
            risk             TEXT NULL,
            pre_score        DOUBLE PRECISION NULL,
            study_uid        TEXT NULL,
            detail_json      TEXT NOT NULL,
            outbox_id        TEXT NULL
        );
        CREATE INDEX IF NOT EXISTS risk_assessments_patient ON risk_assessments (patient_ref, assessed_ms);
        CREATE INDEX IF NOT EXISTS risk_assessments_time ON risk_assessments (assessed_ms);
        CREATE TABLE IF NOT EXISTS leases (
            name           TEXT PRIMARY KEY,
            owner          TEXT NOT NULL,
            until_ms       BIGINT NOT NULL
        );
        """,
        // Details shared by the calls answered from one kept answer (HookAnswerMemo): stored once, as built for a stand-in hook
        // instance; a row that names one has an empty detail_json of its own.
        """
        CREATE TABLE IF NOT EXISTS assessment_details (
            detail_id      TEXT PRIMARY KEY,
            template_json  TEXT NOT NULL,
            stand_in       TEXT NOT NULL,
            derived_json   TEXT NOT NULL
        );
        ALTER TABLE risk_assessments ADD COLUMN detail_id TEXT NULL;
        """,
        // Every audit row stores its own detail again (the shared details of the answer memo are gone); each row keeps the hash of
        // the call's content so that a hookInstance reused for other content is refused. Outbox items are per (FHIR server, patient,
        // study, model): the version counts re-queued content, score_key names the scoring job whose PRE the write waits for.
        """
        DROP TABLE IF EXISTS assessment_details;
        ALTER TABLE risk_assessments DROP COLUMN detail_id;
        ALTER TABLE risk_assessments ADD COLUMN content_sha256 TEXT NULL;
        ALTER TABLE outbox ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE outbox ADD COLUMN score_key TEXT NULL;
        ALTER TABLE outbox ADD COLUMN content_sha256 TEXT NULL;
        CREATE INDEX IF NOT EXISTS outbox_server_due ON outbox (fhir_server, state, next_attempt_ms);
        CREATE INDEX IF NOT EXISTS outbox_score ON outbox (score_key);
        """,
        // Client authentication: each (issuer, jti) once until the token expires, for every replica and across restarts
        // (CDS Hooks 2.0 §Trusting CDS Clients); per-deployment secrets such as the key of the patient pseudonym in logs.
        """
        CREATE TABLE IF NOT EXISTS used_jti (
            issuer         TEXT NOT NULL,
            jti            TEXT NOT NULL,
            expires_ms     BIGINT NOT NULL,
            PRIMARY KEY (issuer, jti)
        );
        CREATE INDEX IF NOT EXISTS used_jti_expiry ON used_jti (expires_ms);
        CREATE TABLE IF NOT EXISTS deployment_secrets (
            name           TEXT PRIMARY KEY,
            value          TEXT NOT NULL,
            created_ms     BIGINT NOT NULL
        );
        """,
        // The follow-up worklist (issue 17): one row per (FHIR server, patient) on study, replaced by each sweep; the sweeps' runs
        // with their counts and failures.
        """
        CREATE TABLE IF NOT EXISTS follow_up_worklist (
            fhir_server    TEXT NOT NULL,
            patient_id     TEXT NOT NULL,
            status         TEXT NOT NULL,
            next_due       TEXT NULL,
            entry_json     TEXT NOT NULL,
            sweep_id       TEXT NOT NULL,
            swept_ms       BIGINT NOT NULL,
            PRIMARY KEY (fhir_server, patient_id)
        );
        CREATE TABLE IF NOT EXISTS follow_up_sweeps (
            id             TEXT PRIMARY KEY,
            owner          TEXT NOT NULL,
            state          TEXT NOT NULL,
            started_ms     BIGINT NOT NULL,
            finished_ms    BIGINT NULL,
            summary_json   TEXT NULL
        );
        CREATE INDEX IF NOT EXISTS follow_up_sweeps_started ON follow_up_sweeps (started_ms);
        """,
    ];

    public async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (_postgres is not null)
        {
            return await _postgres.OpenConnectionAsync(cancellationToken);
        }

        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // WAL with synchronous=NORMAL: a commit survives a crash of the process; only an OS crash or power loss can lose the last
        // commits. It spares an fsync per commit, which otherwise serialises every hook's audit record.
        // busy_timeout: a writer that finds another writer waits inside SQLite (sleeps of 1 ms upwards) instead of getting SQLITE_BUSY,
        // which Microsoft.Data.Sqlite retries only after 150 ms: a hook's one-row INSERT (the token's jti) must not wait that long.
        await connection.ExecuteAsync(null, "PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;", cancellationToken);
        return connection;
    }

    /// <summary>Applies missing migrations; safe when several processes start at once (PostgreSQL: advisory lock; SQLite: one writer).</summary>
    public async Task<int> MigrateAsync(CancellationToken cancellationToken)
    {
        if (FilePath is not null)
        {
            SecureSqliteFiles(FilePath);
        }

        await using var connection = await OpenAsync(cancellationToken);
        if (!IsPostgres)
        {
            await connection.ExecuteAsync(null, "PRAGMA journal_mode=WAL;", cancellationToken);
        }

        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (IsPostgres)
        {
            await connection.ExecuteAsync(transaction, "SELECT pg_advisory_xact_lock(727274741);", cancellationToken);
        }

        await connection.ExecuteAsync(transaction, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);", cancellationToken);
        var current = await connection.ScalarAsync(transaction, "SELECT MAX(version) FROM schema_version;", cancellationToken);
        var version = current is null or DBNull ? 0 : Convert.ToInt32(current, System.Globalization.CultureInfo.InvariantCulture);
        for (var step = version; step < Migrations.Length; step++)
        {
            await connection.ExecuteAsync(transaction, Migrations[step], cancellationToken);
            await connection.ExecuteAsync(transaction, "INSERT INTO schema_version (version) VALUES (@v);", cancellationToken, ("v", step + 1));
        }

        await transaction.CommitAsync(cancellationToken);
        return Migrations.Length;
    }

    /// <summary>Migrates once per process: the start-up steps that need the tables (storage, the deployment secrets) await the same run.</summary>
    public Task<int> EnsureMigratedAsync() => _migrated.Value;

    /// <summary>Why the SQLite folder could not be made owner-only, when it could not (logged at start).</summary>
    public string? PermissionWarning { get; private set; }

    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupOrOther = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    // The database holds PHI (audit details, patient references): owner-only, 0600 in a 0700 folder. SQLite's unix VFS creates the
    // -wal, -shm and -journal files with the mode of the database file, so creating that file 0600 before SQLite opens it covers
    // them; files left by an older version are tightened here.
    private void SecureSqliteFiles(string file)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(file))!;
        if (!Directory.Exists(directory))
        {
            Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        }
        else if ((File.GetUnixFileMode(directory) & GroupOrOther) != 0)
        {
            PermissionWarning = TightenDirectory(directory);
        }

        try
        {
            using var created = new FileStream(file, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnlyFile });
        }
        catch (IOException) when (File.Exists(file))
        {
            // Already there (an earlier start, or another process starting at the same time): tightened below.
        }

        foreach (var path in new[] { file, file + "-wal", file + "-shm", file + "-journal" })
        {
            if (File.Exists(path) && File.GetUnixFileMode(path) != OwnerOnlyFile)
            {
                File.SetUnixFileMode(path, OwnerOnlyFile);
            }
        }
    }

    // A folder the service did not create is made 0700 only when it is plainly the database's own: not a shared folder with the
    // sticky bit (such as /tmp), not the content root or the working directory.
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private string? TightenDirectory(string directory)
    {
        var mode = File.GetUnixFileMode(directory);
        var shared = (mode & UnixFileMode.StickyBit) != 0
            || string.Equals(directory.TrimEnd('/'), _contentRoot.TrimEnd('/'), StringComparison.Ordinal)
            || string.Equals(directory.TrimEnd('/'), Environment.CurrentDirectory.TrimEnd('/'), StringComparison.Ordinal);
        if (shared)
        {
            return $"the folder of the SQLite database ({directory}) is shared (mode {Convert.ToString((int)mode, 8)}); put Storage:Sqlite:Path in a folder of its own";
        }

        try
        {
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
            return null;
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return $"the folder of the SQLite database ({directory}) could not be made owner-only: {e.GetType().Name}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }
}

/// <summary>Creates the data folder and tables before the host accepts requests.</summary>
internal sealed class StorageInitializer(Database database, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var version = await database.EnsureMigratedAsync().WaitAsync(cancellationToken);
        if (database.PermissionWarning is { } warning)
        {
            logger.StoragePermissions(warning);
        }

        logger.StorageReady(database.Description, version);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
