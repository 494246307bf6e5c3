using CdsRisk.Api.Storage;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace CdsRisk.UnitTests.Auth;

/// <summary>A SQLite database of the service's schema in a folder of its own, deleted afterwards.</summary>
internal sealed class TestDatabase : IDisposable
{
    public TestDatabase(string relativePath = "data/cdsrisk.db", string? root = null)
    {
        Root = root ?? Path.Combine(Path.GetTempPath(), "cdsrisk-unit", Guid.NewGuid().ToString("N"));
        Database = Open(relativePath);
    }

    public string Root { get; }

    public Database Database { get; }

    /// <summary>Another handle on the same file, as a restarted process or a second replica has.</summary>
    public Database Open(string relativePath = "data/cdsrisk.db") =>
        new(Options.Create(new StorageOptions { Sqlite = new SqliteStorageOptions { Path = relativePath } }), new Environment(Root));

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    internal sealed class Environment(string root, string name = "Testing") : IHostEnvironment
    {
        public string EnvironmentName { get; set; } = name;
        public string ApplicationName { get; set; } = "tests";
        public string ContentRootPath { get; set; } = root;
        public IFileProvider ContentRootFileProvider { get; set; } = new NullFileProvider();
    }
}
