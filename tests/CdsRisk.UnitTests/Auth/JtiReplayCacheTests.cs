using Microsoft.Extensions.Time.Testing;
using CdsRisk.Api.Auth;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Auth;

public sealed class JtiReplayCacheTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 27, 10, 0, 0, TimeSpan.Zero);
    private readonly TestDatabase _db = new();

    public void Dispose() => _db.Dispose();

    private async Task<UsedTokenStore> StoreAsync(Database database, TimeProvider time)
    {
        await database.MigrateAsync(CancellationToken.None);
        return new UsedTokenStore(database, time);
    }

    [Fact]
    public async Task SecondUseBeforeExpiry_IsRefused()
    {
        var cache = new JtiReplayCache(new FakeTimeProvider(Start));

        Assert.True(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));
        Assert.False(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task SameJtiFromAnotherIssuer_IsAnotherToken()
    {
        var time = new FakeTimeProvider(Start);
        var cache = new JtiReplayCache(time, await StoreAsync(_db.Database, time));

        Assert.True(await cache.TryUseAsync("a", "j1", Start.AddMinutes(5), CancellationToken.None));
        Assert.True(await cache.TryUseAsync("b", "j1", Start.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task AfterExpiry_TheJtiMayBeUsedAgain_InMemoryAndInTheDatabase()
    {
        var time = new FakeTimeProvider(Start);
        var cache = new JtiReplayCache(time, await StoreAsync(_db.Database, time));
        Assert.True(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));

        time.SetUtcNow(Start.AddMinutes(6));

        Assert.True(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(11), CancellationToken.None));
        Assert.False(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(11), CancellationToken.None));
    }

    [Fact]
    public async Task JtiReplayAfterRestart_IsRefused_BecauseTheDatabaseRemembers()
    {
        var time = new FakeTimeProvider(Start);
        var before = new JtiReplayCache(time, await StoreAsync(_db.Database, time));
        Assert.True(await before.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));

        // A new process: empty memory, same database file.
        var after = new JtiReplayCache(time, await StoreAsync(_db.Open(), time));

        Assert.False(await after.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));
        Assert.True(await after.TryUseAsync("iss", "j2", Start.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task JtiReplayAcrossReplicas_IsRefused_WhenBothUseItAtOnce()
    {
        var time = new FakeTimeProvider(Start);
        var first = new JtiReplayCache(time, await StoreAsync(_db.Database, time));
        var second = new JtiReplayCache(time, await StoreAsync(_db.Open(), time));

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            (i % 2 == 0 ? first : second).TryUseAsync("iss", "same", Start.AddMinutes(5), CancellationToken.None).AsTask()));

        Assert.Single(results, accepted => accepted);
    }

    [Fact]
    public async Task ConcurrentFirstUses_AreAllRecorded_AndADuplicateAmongThemIsAReplay()
    {
        var time = new FakeTimeProvider(Start);
        var store = await StoreAsync(_db.Database, time);

        var results = await Task.WhenAll(Enumerable.Range(0, 200).Select(i =>
            store.TryRecordAsync("iss", i < 199 ? "j" + i : "j7", Start.AddMinutes(5), CancellationToken.None)));

        Assert.Equal(199, results.Count(r => r));
        Assert.False(await store.TryRecordAsync("iss", "j150", Start.AddMinutes(5), CancellationToken.None));
    }

    [Fact]
    public async Task ExpiredRows_AreSwept_LiveOnesKept()
    {
        var time = new FakeTimeProvider(Start);
        var store = await StoreAsync(_db.Database, time);
        Assert.True(await store.TryRecordAsync("iss", "old", Start.AddMinutes(1), CancellationToken.None));
        Assert.True(await store.TryRecordAsync("iss", "live", Start.AddMinutes(20), CancellationToken.None));

        time.SetUtcNow(Start.AddMinutes(10));

        Assert.Equal(1, await store.DeleteExpiredAsync(CancellationToken.None));
        Assert.False(await store.TryRecordAsync("iss", "live", Start.AddMinutes(20), CancellationToken.None));
    }

    [Fact]
    public async Task WhenTheDatabaseIsUnreachable_ThisProcessStillRefusesAReplay()
    {
        var time = new FakeTimeProvider(Start);
        // A database file that cannot be created (its folder is a file): every statement fails.
        var blocker = Path.Combine(_db.Root, "not-a-folder");
        Directory.CreateDirectory(_db.Root);
        await File.WriteAllTextAsync(blocker, "x");
        var broken = new UsedTokenStore(_db.Open("not-a-folder/cdsrisk.db"), time);
        var cache = new JtiReplayCache(time, broken);

        Assert.True(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));
        Assert.False(await cache.TryUseAsync("iss", "j1", Start.AddMinutes(5), CancellationToken.None));
    }
}
