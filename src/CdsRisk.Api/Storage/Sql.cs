using System.Collections.Frozen;
using System.Data.Common;
using CdsRisk.Core.Eligibility;

namespace CdsRisk.Api.Storage;

/// <summary>Small ADO.NET helpers shared by the stores, so each store reads as its SQL.</summary>
internal static class Sql
{
    public static DbCommand Command(this DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }

        return command;
    }

    public static async Task<int> ExecuteAsync(this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<object?> ScalarAsync(this DbConnection connection, DbTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(transaction, sql, parameters);
        return await command.ExecuteScalarAsync(cancellationToken);
    }

    public static async Task<List<T>> QueryAsync<T>(this DbConnection connection, string sql, Func<DbDataReader, T> map, CancellationToken cancellationToken,
        params (string Name, object? Value)[] parameters)
    {
        await using var command = connection.Command(null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(map(reader));
        }

        return rows;
    }

    public static string? StringOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static long? Int64OrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Convert.ToInt64(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    public static double? DoubleOrNull(this DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : Convert.ToDouble(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    public static long Int64(this DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), System.Globalization.CultureInfo.InvariantCulture);

    public static long ToUnixMs(this DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromUnixMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    /// <summary>An enum value as stored: the same kebab-case text as on the wire (<see cref="WireNames"/>), e.g. <c>not-queued</c>.</summary>
    public static string Stored<T>(this T value)
        where T : struct, Enum => StoredNames<T>.ByValue[value];

    /// <summary>
    /// The enum value stored as <paramref name="text"/> in <paramref name="column"/>; text no member is stored as (a newer
    /// version's value, a hand edit, a number) is an error naming the column and the value, never a default.
    /// </summary>
    public static T ParseStored<T>(string text, string column)
        where T : struct, Enum =>
        StoredNames<T>.ByText.TryGetValue(text, out var value)
            ? value
            : throw new InvalidDataException(
                $"{column} holds '{text}', which is not a {typeof(T).Name} ({string.Join(", ", StoredNames<T>.ByText.Keys.Order(StringComparer.Ordinal))}).");

    private static class StoredNames<T>
        where T : struct, Enum
    {
        public static readonly FrozenDictionary<T, string> ByValue = Enum.GetValues<T>().ToFrozenDictionary(v => v, v => v.ToWire());
        public static readonly FrozenDictionary<string, T> ByText = ByValue.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
    }
}
