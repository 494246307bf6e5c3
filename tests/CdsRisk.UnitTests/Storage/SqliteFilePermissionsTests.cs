using CdsRisk.Api.Storage;
using CdsRisk.UnitTests.Auth;

namespace CdsRisk.UnitTests.Storage;

/// <summary>Issue 13 item 20: the SQLite database (PHI) is owner-only: the file and its -wal/-shm 0600, its folder 0700.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SqliteFilePermissionsTests : IDisposable
{
    private const UnixFileMode File0600 = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode Folder0700 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private readonly TestDatabase _db = new("data/cdsrisk.db");

    public void Dispose() => _db.Dispose();

    private string File(string suffix = "") => Path.Combine(_db.Root, "data", "cdsrisk.db" + suffix);

    private async Task WriteSomethingAsync(Database database)
    {
        await database.MigrateAsync(CancellationToken.None);
        await new UsedTokenStore(database, TimeProvider.System).TryRecordAsync("iss", Guid.NewGuid().ToString(), DateTimeOffset.UtcNow.AddMinutes(5), CancellationToken.None);
    }

    [Fact]
    public async Task SqliteFileCreated0644_IsNowOwnerOnly_WithItsWalAndShmFiles()
    {
        await WriteSomethingAsync(_db.Database);
        // Another connection open keeps the -shm and -wal files in place while they are looked at.
        await using var open = await _db.Database.OpenAsync(CancellationToken.None);

        Assert.Equal(Folder0700, System.IO.File.GetUnixFileMode(Path.Combine(_db.Root, "data")));
        Assert.Equal(File0600, System.IO.File.GetUnixFileMode(File()));
        Assert.True(System.IO.File.Exists(File("-wal")));
        Assert.Equal(File0600, System.IO.File.GetUnixFileMode(File("-wal")));
        Assert.Equal(File0600, System.IO.File.GetUnixFileMode(File("-shm")));
    }

    [Fact]
    public async Task FilesLeftWithWiderModes_AreTightenedAtStart()
    {
        Directory.CreateDirectory(Path.Combine(_db.Root, "data"));
        await System.IO.File.WriteAllBytesAsync(File(), []);
        System.IO.File.SetUnixFileMode(Path.Combine(_db.Root, "data"), Folder0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        System.IO.File.SetUnixFileMode(File(), File0600 | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await WriteSomethingAsync(_db.Database);

        Assert.Equal(Folder0700, System.IO.File.GetUnixFileMode(Path.Combine(_db.Root, "data")));
        Assert.Equal(File0600, System.IO.File.GetUnixFileMode(File()));
        Assert.Null(_db.Database.PermissionWarning);
    }

    [Fact]
    public async Task ASharedFolder_IsLeftAlone_AndSaidSo()
    {
        // The database directly in the content root: that folder is not the database's own.
        System.IO.Directory.CreateDirectory(_db.Root);
        System.IO.File.SetUnixFileMode(_db.Root, Folder0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        var database = _db.Open("cdsrisk.db");

        await database.MigrateAsync(CancellationToken.None);

        Assert.Equal(Folder0700 | UnixFileMode.GroupRead | UnixFileMode.GroupExecute, System.IO.File.GetUnixFileMode(_db.Root));
        Assert.Contains("Storage:Sqlite:Path", database.PermissionWarning, StringComparison.Ordinal);
        Assert.Equal(File0600, System.IO.File.GetUnixFileMode(Path.Combine(_db.Root, "cdsrisk.db")));
    }
}
