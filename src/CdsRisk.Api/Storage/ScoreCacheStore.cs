using Microsoft.Extensions.Caching.Memory;

namespace CdsRisk.Api.Storage;

/// <summary>
/// Scores already computed, keyed by (study UID, model hash, clinical-feature hash), so a second hook does not recompute. A stored
/// row is never changed or removed (first writer wins, the same key always means the same inputs), so a row once read is also kept
/// in memory and every later hook for that key is answered without a database round trip; a key not found is always looked up again.
/// </summary>
public sealed class ScoreCacheStore(Database database, TimeProvider time) : IDisposable
{
    /// <summary>Rows kept in memory at once (a result is about 1 KiB).</summary>
    public const int MaxRowsInMemory = 10_000;

    private readonly MemoryCache _read = new(new MemoryCacheOptions { SizeLimit = MaxRowsInMemory });

    public async Task<string?> GetAsync(string cacheKey, CancellationToken cancellationToken)
    {
        if (_read.TryGetValue(cacheKey, out string? kept) && kept is not null)
        {
            return kept;
        }

        await using var connection = await database.OpenAsync(cancellationToken);
        var stored = await connection.ScalarAsync(null, "SELECT result_json FROM score_cache WHERE cache_key = @key;", cancellationToken, ("key", cacheKey)) as string;
        if (stored is not null)
        {
            _read.Set(cacheKey, stored, new MemoryCacheEntryOptions { Size = 1, SlidingExpiration = TimeSpan.FromMinutes(30) });
        }

        return stored;
    }

    public void Dispose() => _read.Dispose();

    /// <summary>First writer wins: the same key always means the same inputs, so a later equal result is dropped.</summary>
    public async Task PutAsync(string cacheKey, string studyUid, string modelSha256, string featuresHash, string resultJson, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await connection.ExecuteAsync(null, """
            INSERT INTO score_cache (cache_key, study_uid, model_sha256, features_hash, result_json, created_ms)
            VALUES (@key, @study, @sha, @features, @result, @now)
            ON CONFLICT (cache_key) DO NOTHING;
            """, cancellationToken,
            ("key", cacheKey), ("study", studyUid), ("sha", modelSha256), ("features", featuresHash), ("result", resultJson),
            ("now", time.GetUtcNow().ToUnixMs()));
    }
}
