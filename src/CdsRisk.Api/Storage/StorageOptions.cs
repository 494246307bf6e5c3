using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Storage;

/// <summary>Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (the embedded default). PostgreSQL can be added behind the same store interfaces.</summary>
    public string Provider { get; set; } = "Sqlite";

    public SqliteStorageOptions Sqlite { get; set; } = new();
}

public sealed class SqliteStorageOptions
{
    /// <summary>Database file; a relative path is taken from the content root.</summary>
    public string Path { get; set; } = "data/cdsrisk.db";
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (!string.Equals(options.Provider, "Sqlite", StringComparison.OrdinalIgnoreCase))
        {
            return ValidateOptionsResult.Fail($"Storage:Provider must be 'Sqlite' (got '{options.Provider}').");
        }

        return string.IsNullOrWhiteSpace(options.Sqlite.Path)
            ? ValidateOptionsResult.Fail("Storage:Sqlite:Path must name a database file.")
            : ValidateOptionsResult.Success;
    }
}
