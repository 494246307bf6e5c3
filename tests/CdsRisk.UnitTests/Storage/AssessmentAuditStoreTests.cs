using System.Text;
using CdsRisk.Api.Pipeline;
using CdsRisk.Api.Storage;
using CdsRisk.Core.Cards;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Storage;

/// <summary>Audit rows on SQLite: a row's own detail, and a detail shared by the calls answered from one kept answer, read back alike.</summary>
public sealed class AssessmentAuditStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
    private readonly Database _database;
    private readonly AssessmentAuditStore _store;

    public AssessmentAuditStoreTests()
    {
        _database = new Database(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = "audit.db" } }), new Environment(_root));
        _store = new AssessmentAuditStore(_database);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task SharedDetails_AreStoredOnce_AndReadBackAsEachCallsOwnDetail()
    {
        await _database.MigrateAsync(CancellationToken.None);
        var standIn = Guid.NewGuid();
        string Detail(string instance) => $$"""{"cards":[{"uuid":"{{DeterministicUuid.Create($"card|{instance}|eligible"):D}}","summary":"é ✓"}],"instance":"{{instance}}"}""";
        byte[] template;
        IReadOnlyList<DeterministicUuid.DerivedUuid> derived;
        using (var recording = DeterministicUuid.Record())
        {
            template = Encoding.UTF8.GetBytes(Detail(standIn.ToString("D")));
            derived = [.. recording.Derived];
        }

        var shared = SharedDetail.Create(template, InstanceUuids.From(standIn, derived));
        var (a, b) = (Guid.NewGuid().ToString("D"), Guid.NewGuid().ToString("D"));
        var own = Row(Guid.NewGuid().ToString("D"), Encoding.UTF8.GetBytes("""{"own":"détail"}"""));

        await _store.RecordAsync([Row(a, []) with { Shared = shared }, Row(b, []) with { Shared = shared }, own], CancellationToken.None);
        await _store.RecordAsync([Row(Guid.NewGuid().ToString("D"), []) with { Shared = shared }], CancellationToken.None); // a later batch

        Assert.Equal(Detail(a), Encoding.UTF8.GetString((await _store.GetAsync(a, CancellationToken.None))!.DetailJson));
        Assert.Equal(Detail(b), Encoding.UTF8.GetString((await _store.GetAsync(b, CancellationToken.None))!.DetailJson));
        Assert.Equal("""{"own":"détail"}""", Encoding.UTF8.GetString((await _store.GetAsync(own.Id, CancellationToken.None))!.DetailJson));
        var listed = await _store.QueryAsync(new AuditQuery("p1", null, null, null, null, null, 10, 0), CancellationToken.None);
        Assert.Equal(4, listed.Count);
        Assert.Equal(Detail(a), Encoding.UTF8.GetString(listed.Single(r => r.Id == a).DetailJson));

        await using var connection = await _database.OpenAsync(CancellationToken.None);
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT (SELECT COUNT(*) FROM assessment_details), (SELECT COUNT(*) FROM risk_assessments WHERE detail_json = '' AND detail_id IS NOT NULL);";
        await using var reader = await count.ExecuteReaderAsync();
        await reader.ReadAsync();
        Assert.Equal(1L, reader.GetInt64(0));
        Assert.Equal(3L, reader.GetInt64(1));
    }

    private static AuditedAssessment Row(string instance, byte[] detail) => new(
        instance, "Patient/p1", "https://ehr.example/fhir", "patient-view", instance, DateTimeOffset.UtcNow,
        "pre-reference", "1.0.0", "abc", "eligible", "high", 0.73, "1.2.3", detail, null);

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
