namespace CdsRisk.Api.Storage;

/// <summary>Scores already computed, keyed by (study UID, model hash, clinical-feature hash), so a second hook does not recompute.</summary>
public sealed class ScoreCacheStore(Database database, TimeProvider time)
{
    public async Task<string?> GetAsync(string cacheKey, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ScalarAsync(null, "SELECT result_json FROM score_cache WHERE cache_key = @key;", cancellationToken, ("key", cacheKey)) as string;
    }

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
