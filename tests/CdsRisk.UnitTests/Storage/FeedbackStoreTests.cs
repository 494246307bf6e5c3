using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Storage;

public sealed class FeedbackStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
    private readonly Database _database;

    public FeedbackStoreTests()
    {
        _database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "nested/data/cdsrisk.db" } }), new Environment(_root));
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

    private static Feedback Accepted(string card, string at) => new()
    {
        Card = card,
        Outcome = "accepted",
        AcceptedSuggestions = [new AcceptedSuggestion { Id = "s1" }],
        OutcomeTimestamp = at,
    };

    [Fact]
    public async Task Migration_CreatesTheFolderAndIsRepeatable()
    {
        var version = await _database.MigrateAsync(CancellationToken.None);
        Assert.True(version >= 2, "feedback, then the scoring, outbox and audit tables");
        Assert.Equal(version, await _database.MigrateAsync(CancellationToken.None));
        Assert.True(File.Exists(Path.Combine(_root, "nested", "data", "cdsrisk.db")));
    }

    [Fact]
    public async Task SameFeedbackTwice_IsStoredOnce_EvenWithTheInstantWrittenDifferently()
    {
        await _database.MigrateAsync(CancellationToken.None);
        var store = new FeedbackStore(_database);

        Assert.Equal(1, await store.SaveAsync("svc", [Accepted("c1", "2026-11-27T10:00:00Z")], DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.Equal(0, await store.SaveAsync("svc", [Accepted("c1", "2026-11-27T11:00:00+01:00")], DateTimeOffset.UtcNow, CancellationToken.None));
        Assert.Equal(1, await store.SaveAsync("svc", [Accepted("c1", "2026-11-27T10:05:00Z")], DateTimeOffset.UtcNow, CancellationToken.None));

        var stored = await store.ListForCardAsync("c1", CancellationToken.None);
        Assert.Equal(2, stored.Count);
        Assert.All(stored, s => Assert.Equal(["s1"], s.AcceptedSuggestions));
    }

    [Fact]
    public async Task OverrideReason_RoundTrips()
    {
        await _database.MigrateAsync(CancellationToken.None);
        var store = new FeedbackStore(_database);
        var feedback = new Feedback
        {
            Card = "c2",
            Outcome = "overridden",
            OverrideReason = new OverrideReason { Reason = new Coding { Code = "no", System = "urn:x", Display = "No" }, UserComment = "later" },
            OutcomeTimestamp = "2026-11-27T10:00:00Z",
        };

        await store.SaveAsync("svc", [feedback], DateTimeOffset.UtcNow, CancellationToken.None);

        var stored = Assert.Single(await store.ListForCardAsync("c2", CancellationToken.None));
        Assert.Equal("no", stored.OverrideReason!.Code);
        Assert.Equal("later", stored.OverrideComment);
        Assert.Empty(stored.AcceptedSuggestions);
    }
}
