using System.Text.Json;
using CdsRisk.Api.Hooks;
using CdsRisk.Api.Storage;
using CdsRisk.Api.WriteBack;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Storage;

/// <summary>
/// Job and outbox states are enums in code and the same text as before in the database and on the wire: every value survives a
/// round trip through a real table, and text that is no state is an error naming the column, never a default.
/// </summary>
public sealed class StoredStateTests : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
    private Database _database = null!;

    public async Task InitializeAsync()
    {
        _database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "cdsrisk.db" } }), new Environment(_root));
        await _database.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    public static TheoryData<ScoringJobState, string> JobStates => new()
    {
        { ScoringJobState.Queued, "queued" },
        { ScoringJobState.Running, "running" },
        { ScoringJobState.Succeeded, "succeeded" },
        { ScoringJobState.Failed, "failed" },
    };

    public static TheoryData<OutboxState, string> OutboxStates => new()
    {
        { OutboxState.Pending, "pending" },
        { OutboxState.Written, "written" },
        { OutboxState.Rejected, "rejected" },
        { OutboxState.Dropped, "dropped" },
    };

    [Fact]
    public void EveryStateHasItsText()
    {
        Assert.Equal(Enum.GetValues<ScoringJobState>().Length, JobStates.Count);
        Assert.Equal(Enum.GetValues<OutboxState>().Length, OutboxStates.Count);
    }

    [Theory]
    [MemberData(nameof(JobStates))]
    public async Task ScoringJobState_RoundTripsAsTheSameText(ScoringJobState state, string text)
    {
        Assert.Equal(text, state.Stored());
        Assert.Equal(state, Sql.ParseStored<ScoringJobState>(text, "scoring_jobs.state"));

        var jobs = new ScoringJobStore(_database, TimeProvider.System);
        var (job, _) = await jobs.CreateOrGetAsync("job-1", "key-1", "{}", CancellationToken.None);
        await SetStateAsync("scoring_jobs", job.Id, text);
        Assert.Equal(state, (await jobs.GetAsync(job.Id, CancellationToken.None))!.State);
        Assert.Equal(text, await StoredTextAsync("scoring_jobs", job.Id));

        // The API's view says the same word.
        Assert.Equal($"\"{text}\"", JsonSerializer.Serialize(state, CdsHooksJson.Options));
    }

    [Theory]
    [MemberData(nameof(OutboxStates))]
    public async Task OutboxState_RoundTripsAsTheSameText(OutboxState state, string text)
    {
        Assert.Equal(text, state.Stored());
        Assert.Equal(state, Sql.ParseStored<OutboxState>(text, "outbox.state"));

        var outbox = new OutboxStore(_database, TimeProvider.System);
        await outbox.EnqueueAsync("ra-1", RiskAssessmentWriteBack.Kind, "https://fhir.example.org/", "{}", CancellationToken.None, contentSha256: "a");
        await SetStateAsync("outbox", "ra-1", text);
        Assert.Equal(state, (await outbox.GetAsync("ra-1", CancellationToken.None))!.State);

        // The audit API's write-back state is the outbox item's state, in the same word.
        Assert.Equal($"\"{text}\"", JsonSerializer.Serialize(WriteBackStatuses.Of(state), CdsHooksJson.Options));
    }

    [Fact]
    public void WriteBackStatus_NotQueued_IsKebabCaseOnTheWire()
    {
        Assert.Equal("\"not-queued\"", JsonSerializer.Serialize(WriteBackStatus.NotQueued, CdsHooksJson.Options));
        Assert.Equal(Enum.GetValues<OutboxState>().Length + 1, Enum.GetValues<WriteBackStatus>().Length);
    }

    [Fact]
    public async Task UnknownScoringJobStateInTheDatabase_IsAnErrorNamingColumnAndValue()
    {
        var jobs = new ScoringJobStore(_database, TimeProvider.System);
        var (job, _) = await jobs.CreateOrGetAsync("job-2", "key-2", "{}", CancellationToken.None);
        await SetStateAsync("scoring_jobs", job.Id, "finished");

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => jobs.GetAsync(job.Id, CancellationToken.None));
        Assert.Contains("scoring_jobs.state", error.Message, StringComparison.Ordinal);
        Assert.Contains("'finished'", error.Message, StringComparison.Ordinal);
        Assert.Contains("(failed, queued, running, succeeded)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sent")]
    [InlineData("Pending")] // a member name, not its stored text
    [InlineData("0")] // a number is no state
    [InlineData("")]
    public async Task UnknownOutboxStateInTheDatabase_IsAnErrorNamingColumnAndValue(string text)
    {
        var outbox = new OutboxStore(_database, TimeProvider.System);
        await outbox.EnqueueAsync("ra-2", RiskAssessmentWriteBack.Kind, "https://fhir.example.org/", "{}", CancellationToken.None, contentSha256: "b");
        await SetStateAsync("outbox", "ra-2", text);

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => outbox.GetAsync("ra-2", CancellationToken.None));
        Assert.Contains($"outbox.state holds '{text}'", error.Message, StringComparison.Ordinal);
    }

    private async Task SetStateAsync(string table, string id, string text)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        Assert.Equal(1, await connection.ExecuteAsync(null, $"UPDATE {table} SET state = @state WHERE id = @id;", CancellationToken.None, ("state", text), ("id", id)));
    }

    private async Task<object?> StoredTextAsync(string table, string id)
    {
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        return await connection.ScalarAsync(null, $"SELECT state FROM {table} WHERE id = @id;", CancellationToken.None, ("id", id));
    }

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
