using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace CdsRisk.Api.Storage;

/// <summary>
/// Token ids (<c>jti</c>) already used, per issuer, until the token expires: shared by every replica through the database and kept
/// across restarts, so a captured token cannot be replayed against another replica or after a restart (CDS Hooks 2.0 §Trusting CDS Clients).
/// </summary>
/// <remarks>
/// One writer records what is waiting in one statement and one commit: concurrent first uses of tokens share a commit, and this
/// process's rows never queue for SQLite's single write lock against each other. A batch that cannot be written within
/// <see cref="WriteTimeout"/> fails (the caller decides what then).
/// </remarks>
public sealed class UsedTokenStore : IAsyncDisposable
{
    public static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(3);
    private const int MaxBatch = 128;

    private sealed record Pending(string Issuer, string Jti, long ExpiresMs, TaskCompletionSource<bool> Done);

    private readonly Database _database;
    private readonly TimeProvider _time;
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lazy<Task> _writer;

    // Used by the writer only.
    private readonly Dictionary<int, DbCommand> _statements = [];
    private DbConnection? _connection;

    public UsedTokenStore(Database database, TimeProvider time)
    {
        _database = database;
        _time = time;
        _writer = new(() => Task.Run(WriteAsync), LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <returns>True when this (issuer, jti) is used for the first time (or its earlier use has expired); false for a replay.</returns>
    public Task<bool> TryRecordAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var pending = new Pending(issuer, jti, expiresAt.ToUnixMs(), new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);

        _ = _writer.Value;
        return pending.Done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Forgets the ids of tokens that have expired (a replay of those fails on <c>exp</c> anyway).</summary>
    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM used_jti WHERE expires_ms < @now;", cancellationToken, ("now", _time.GetUtcNow().ToUnixMs()));
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        if (_writer.IsValueCreated)
        {
            await _writer.Value;
        }

        await CloseAsync();
    }

    private async Task WriteAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var next))
            {
                batch.Add(next);
            }

            try
            {
                using var timeout = new CancellationTokenSource(WriteTimeout);
                var recorded = await InsertAsync(batch, timeout.Token);
                var seen = new HashSet<(string, string)>();
                foreach (var item in batch)
                {
                    // The same id twice in one batch: the first is the use, the second a replay.
                    item.Done.TrySetResult(recorded.Contains((item.Issuer, item.Jti)) && seen.Add((item.Issuer, item.Jti)));
                }
            }
#pragma warning disable CA1031 // not swallowed: every waiting caller gets the exception
            catch (Exception e)
#pragma warning restore CA1031
            {
                foreach (var item in batch)
                {
                    item.Done.TrySetException(e);
                }
            }

            batch.Clear();
        }
    }

    /// <returns>The (issuer, jti) pairs recorded now: new rows, and expired rows not yet swept taken over; a live row is left alone.</returns>
    private async Task<HashSet<(string Issuer, string Jti)>> InsertAsync(List<Pending> batch, CancellationToken cancellationToken)
    {
        // A key may appear once per statement (PostgreSQL refuses to touch a row twice in one INSERT ... ON CONFLICT).
        var rows = batch.DistinctBy(p => (p.Issuer, p.Jti)).ToList();
        try
        {
            // The writer's own connection and one prepared statement per batch size, kept between batches: a first use of a token
            // costs one statement, not a connection, its PRAGMAs and a prepare.
            _connection ??= await _database.OpenAsync(cancellationToken);
            if (!_statements.TryGetValue(rows.Count, out var command))
            {
                command = Statement(_connection, rows.Count);
                _statements[rows.Count] = command;
            }

            command.Parameters[0].Value = _time.GetUtcNow().ToUnixMs();
            for (var i = 0; i < rows.Count; i++)
            {
                command.Parameters[1 + 3 * i].Value = rows[i].Issuer;
                command.Parameters[2 + 3 * i].Value = rows[i].Jti;
                command.Parameters[3 + 3 * i].Value = rows[i].ExpiresMs;
            }

            var recorded = new HashSet<(string, string)>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                recorded.Add((reader.GetString(0), reader.GetString(1)));
            }

            return recorded;
        }
        catch
        {
            // The connection may be broken (database restarted, file replaced): the next batch opens a new one.
            await CloseAsync();
            throw;
        }
    }

    // One statement, atomic on both engines: new rows inserted, expired rows taken over, live rows left alone; RETURNING names
    // the rows written.
    private static DbCommand Statement(DbConnection connection, int rows)
    {
        var sql = new StringBuilder("INSERT INTO used_jti (issuer, jti, expires_ms) VALUES ");
        var command = connection.CreateCommand();
        Add(command, "now");
        for (var i = 0; i < rows; i++)
        {
            sql.Append(i == 0 ? "" : ", ").Append(CultureInfo.InvariantCulture, $"(@i{i}, @j{i}, @e{i})");
            Add(command, $"i{i}");
            Add(command, $"j{i}");
            Add(command, $"e{i}");
        }

        command.CommandText = sql.Append(" ON CONFLICT (issuer, jti) DO UPDATE SET expires_ms = excluded.expires_ms WHERE used_jti.expires_ms < @now RETURNING issuer, jti;").ToString();
        return command;

        static void Add(DbCommand command, string name)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            command.Parameters.Add(parameter);
        }
    }

    private async Task CloseAsync()
    {
        foreach (var command in _statements.Values)
        {
            await command.DisposeAsync();
        }

        _statements.Clear();
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
            _connection = null;
        }
    }
}

/// <summary>Secrets generated once per deployment and shared by its replicas (e.g. the key of the patient pseudonym in logs).</summary>
public sealed class DeploymentSecretStore(Database database, TimeProvider time)
{
    /// <summary>The secret named <paramref name="name"/>; the first caller of the deployment stores <paramref name="candidate"/>, every later one reads it.</summary>
    public async Task<string> GetOrCreateAsync(string name, string candidate, CancellationToken cancellationToken)
    {
        await database.EnsureMigratedAsync().WaitAsync(cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, "INSERT INTO deployment_secrets (name, value, created_ms) VALUES (@name, @value, @now) ON CONFLICT (name) DO NOTHING;",
            cancellationToken, ("name", name), ("value", candidate), ("now", time.GetUtcNow().ToUnixMs()));
        return (string)(await connection.ScalarAsync(null, "SELECT value FROM deployment_secrets WHERE name = @name;", cancellationToken, ("name", name)))!;
    }
}
