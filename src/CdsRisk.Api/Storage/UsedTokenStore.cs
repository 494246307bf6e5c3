namespace CdsRisk.Api.Storage;

/// <summary>
/// Token ids (<c>jti</c>) already used, per issuer, until the token expires: shared by every replica through the database and kept
/// across restarts, so a captured token cannot be replayed against another replica or after a restart (CDS Hooks 2.0 §Trusting CDS Clients).
/// </summary>
public sealed class UsedTokenStore(Database database, TimeProvider time)
{
    /// <returns>True when this (issuer, jti) is used for the first time (or its earlier use has expired); false for a replay.</returns>
    public async Task<bool> TryRecordAsync(string issuer, string jti, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        // One statement, atomic on both engines: a new row, or an expired row not yet swept taken over; a live row is left alone (0 rows).
        var changed = await connection.ExecuteAsync(null, """
            INSERT INTO used_jti (issuer, jti, expires_ms) VALUES (@issuer, @jti, @expires)
            ON CONFLICT (issuer, jti) DO UPDATE SET expires_ms = excluded.expires_ms WHERE used_jti.expires_ms < @now;
            """, cancellationToken, ("issuer", issuer), ("jti", jti), ("expires", expiresAt.ToUnixMs()), ("now", time.GetUtcNow().ToUnixMs()));
        return changed == 1;
    }

    /// <summary>Forgets the ids of tokens that have expired (a replay of those fails on <c>exp</c> anyway).</summary>
    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteAsync(null, "DELETE FROM used_jti WHERE expires_ms < @now;", cancellationToken, ("now", time.GetUtcNow().ToUnixMs()));
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
