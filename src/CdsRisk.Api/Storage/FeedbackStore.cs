using System.Globalization;
using System.Text.Json;
using CdsRisk.Api.Hooks;
using Microsoft.Data.Sqlite;

namespace CdsRisk.Api.Storage;

/// <summary>One stored feedback item, as the audit side reads it back.</summary>
public sealed record StoredFeedback(string ServiceId, string CardUuid, string Outcome, DateTimeOffset OutcomeTimestamp,
    IReadOnlyList<string> AcceptedSuggestions, Coding? OverrideReason, string? OverrideComment, DateTimeOffset ReceivedAt);

/// <summary>Feedback on cards (CDS Hooks 2.0 §Feedback). Saving is idempotent: clients resend the same feedback.</summary>
public interface IFeedbackStore
{
    /// <returns>How many items were new.</returns>
    Task<int> SaveAsync(string serviceId, IReadOnlyList<Feedback> feedback, DateTimeOffset receivedAt, CancellationToken cancellationToken);

    Task<IReadOnlyList<StoredFeedback>> ListForCardAsync(string cardUuid, CancellationToken cancellationToken);
}

public sealed class SqliteFeedbackStore(SqliteDatabase database) : IFeedbackStore
{
    public async Task<int> SaveAsync(string serviceId, IReadOnlyList<Feedback> feedback, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var stored = 0;
        foreach (var item in feedback)
        {
            await using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = """
                INSERT INTO feedback (service_id, card_uuid, outcome, outcome_timestamp, accepted_suggestions, override_reason, received_at)
                VALUES ($service, $card, $outcome, $timestamp, $accepted, $override, $received)
                ON CONFLICT DO NOTHING;
                """;
            command.Parameters.AddWithValue("$service", serviceId);
            command.Parameters.AddWithValue("$card", item.Card!);
            command.Parameters.AddWithValue("$outcome", item.Outcome!);
            command.Parameters.AddWithValue("$timestamp", Normalise(item.OutcomeTimestamp!));
            command.Parameters.AddWithValue("$accepted", item.AcceptedSuggestions is { Count: > 0 } s
                ? JsonSerializer.Serialize(s.Select(a => a.Id).ToArray(), CdsHooksJson.Options) : DBNull.Value);
            command.Parameters.AddWithValue("$override", item.OverrideReason is { IsEmpty: false } o
                ? JsonSerializer.Serialize(o, CdsHooksJson.Options) : DBNull.Value);
            command.Parameters.AddWithValue("$received", receivedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
            stored += await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    public async Task<IReadOnlyList<StoredFeedback>> ListForCardAsync(string cardUuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT service_id, card_uuid, outcome, outcome_timestamp, accepted_suggestions, override_reason, received_at
            FROM feedback WHERE card_uuid = $card ORDER BY outcome_timestamp;
            """;
        command.Parameters.AddWithValue("$card", cardUuid);
        var result = new List<StoredFeedback>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var accepted = reader.IsDBNull(4) ? [] : JsonSerializer.Deserialize<string[]>(reader.GetString(4), CdsHooksJson.Options) ?? [];
            var overrideReason = reader.IsDBNull(5) ? null : JsonSerializer.Deserialize<OverrideReason>(reader.GetString(5), CdsHooksJson.Options);
            result.Add(new StoredFeedback(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture), accepted,
                overrideReason?.Reason, overrideReason?.UserComment,
                DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture)));
        }

        return result;
    }

    // The same instant written two ways is the same feedback.
    private static string Normalise(string timestamp) =>
        DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
