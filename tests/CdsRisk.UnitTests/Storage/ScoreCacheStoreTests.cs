using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Storage;

public sealed class ScoreCacheStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
    private readonly Database _database;

    public ScoreCacheStoreTests()
    {
        _database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "scores.db" } }), new Environment(_root));
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }

    [Fact]
    public async Task AKeyNotFound_IsLookedUpAgain_AndAStoredScoreIsThenServedFromMemory()
    {
        await _database.EnsureMigratedAsync();
        using var store = new ScoreCacheStore(_database, TimeProvider.System);
        using var otherReplica = new ScoreCacheStore(_database, TimeProvider.System);

        Assert.Null(await store.GetAsync("k1", CancellationToken.None)); // a miss is not remembered ...
        await otherReplica.PutAsync("k1", "1.2.3", "sha", "features", """{"pre":0.7}""", CancellationToken.None);
        Assert.Equal("""{"pre":0.7}""", await store.GetAsync("k1", CancellationToken.None)); // ... so another replica's score is found

        // First writer wins: a later result for the same key changes nothing, in storage or in memory.
        await otherReplica.PutAsync("k1", "1.2.3", "sha", "features", """{"pre":0.1}""", CancellationToken.None);
        Assert.Equal("""{"pre":0.7}""", await store.GetAsync("k1", CancellationToken.None));
        Assert.Equal("""{"pre":0.7}""", await otherReplica.GetAsync("k1", CancellationToken.None));

        // Once read, the row is answered from memory: the database is not asked again.
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        {
            await connection.ExecuteAsync(null, "DELETE FROM score_cache;", CancellationToken.None);
        }

        Assert.Equal("""{"pre":0.7}""", await store.GetAsync("k1", CancellationToken.None));
        Assert.Null(await store.GetAsync("k2", CancellationToken.None));
    }
}
