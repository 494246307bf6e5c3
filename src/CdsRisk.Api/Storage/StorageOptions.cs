using Microsoft.Extensions.Options;

namespace CdsRisk.Api.Storage;

/// <summary>Configuration section <c>Storage</c>.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";
    public const string SqliteProvider = "Sqlite";
    public const string PostgresProvider = "PostgreSql";

    /// <summary><c>Sqlite</c> (the embedded default, one process) or <c>PostgreSql</c> (several replicas sharing work).</summary>
    public string Provider { get; set; } = SqliteProvider;

    public SqliteStorageOptions Sqlite { get; set; } = new();

    public PostgreSqlStorageOptions PostgreSql { get; set; } = new();
}

public sealed class SqliteStorageOptions
{
    /// <summary>Database file; a relative path is taken from the content root.</summary>
    public string Path { get; set; } = "data/cdsrisk.db";
}

public sealed class PostgreSqlStorageOptions
{
    /// <summary>An Npgsql connection string (Host=…;Port=…;Database=…;Username=…;Password=…).</summary>
    public string ConnectionString { get; set; } = "";
}

internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options)
    {
        if (string.Equals(options.Provider, StorageOptions.PostgresProvider, StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(options.PostgreSql.ConnectionString))
            {
                return ValidateOptionsResult.Fail("Storage:PostgreSql:ConnectionString is required when Storage:Provider is 'PostgreSql'.");
            }

            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(options.PostgreSql.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail($"Storage:PostgreSql:ConnectionString is not a valid connection string: {ex.Message}");
            }

            return ValidateOptionsResult.Success;
        }

        if (!string.Equals(options.Provider, StorageOptions.SqliteProvider, StringComparison.OrdinalIgnoreCase))
        {
            return ValidateOptionsResult.Fail($"Storage:Provider must be 'Sqlite' or 'PostgreSql' (got '{options.Provider}').");
        }

        return string.IsNullOrWhiteSpace(options.Sqlite.Path)
            ? ValidateOptionsResult.Fail("Storage:Sqlite:Path must name a database file.")
            : ValidateOptionsResult.Success;
    }
}
