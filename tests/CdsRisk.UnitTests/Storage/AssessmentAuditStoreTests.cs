using System.Text;
using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Storage;

/// <summary>Audit rows on SQLite: each row its own detail, exactly as answered; a reused hookInstance told apart from a retry.</summary>
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
    public async Task EveryRow_StoresItsOwnDetail_AndReadsItBackByteForByte()
    {
        await _database.MigrateAsync(CancellationToken.None);
        var (a, b) = (Guid.NewGuid().ToString("D"), Guid.NewGuid().ToString("D"));
        var detailA = Encoding.UTF8.GetBytes($$"""{"instance":"{{a}}","summary":"é ✓"}""");
        var detailB = Encoding.UTF8.GetBytes($$"""{"instance":"{{b}}","summary":"détail"}""");

        var results = await _store.RecordAsync([Row(a, detailA, "c1"), Row(b, detailB, "c2")], CancellationToken.None);

        Assert.Equal([AuditInsert.Stored, AuditInsert.Stored], results);
        Assert.Equal(detailA, (await _store.GetAsync(a, CancellationToken.None))!.DetailJson);
        Assert.Equal(detailB, (await _store.GetAsync(b, CancellationToken.None))!.DetailJson);
        var listed = await _store.QueryAsync(new AuditQuery("p1", null, null, null, null, null, 10, 0), CancellationToken.None);
        Assert.Equal(2, listed.Count);
        Assert.Equal("c1", listed.Single(r => r.Id == a).ContentSha256);
    }

    [Fact]
    public async Task AReusedHookInstance_IsToldApartFromARetry_AndNeverReplacesTheFirstRow()
    {
        await _database.MigrateAsync(CancellationToken.None);
        var id = Guid.NewGuid().ToString("D");
        var first = Encoding.UTF8.GetBytes("""{"patient":"A"}""");
        Assert.Equal(AuditInsert.Stored, await _store.RecordAsync(Row(id, first, "content-a"), CancellationToken.None));

        var retry = await _store.RecordAsync(Row(id, first, "content-a"), CancellationToken.None);
        var reused = await _store.RecordAsync(Row(id, Encoding.UTF8.GetBytes("""{"patient":"B"}"""), "content-b") with { PatientRef = "Patient/B" }, CancellationToken.None);

        Assert.Equal(AuditInsert.SameCallAgain, retry);
        Assert.Equal(AuditInsert.HookInstanceReused, reused);
        var stored = (await _store.GetAsync(id, CancellationToken.None))!;
        Assert.Equal("Patient/p1", stored.PatientRef);
        Assert.Equal(first, stored.DetailJson);
    }

    private static AuditedAssessment Row(string instance, byte[] detail, string content) => new(
        instance, "Patient/p1", "https://ehr.example/fhir", "patient-view", instance, DateTimeOffset.UtcNow,
        "pre-reference", "1.0.0", "abc", "eligible", "high", 0.73, "1.2.3", detail, null, content);

    private sealed class Environment(string root) : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = "Testing";
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
