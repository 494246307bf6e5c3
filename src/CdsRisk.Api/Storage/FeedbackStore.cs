using System.Globalization;
using System.Text.Json;
using CdsRisk.Api.Hooks;

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

public sealed class FeedbackStore(Database database) : IFeedbackStore
{
    public async Task<int> SaveAsync(string serviceId, IReadOnlyList<Feedback> feedback, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var stored = 0;
        foreach (var item in feedback)
        {
            stored += await connection.ExecuteAsync(transaction, """
                INSERT INTO feedback (service_id, card_uuid, outcome, outcome_timestamp, accepted_suggestions, override_reason, received_at)
                VALUES (@service, @card, @outcome, @timestamp, @accepted, @override, @received)
                ON CONFLICT DO NOTHING;
                """, cancellationToken,
                ("service", serviceId),
                ("card", item.Card!),
                ("outcome", item.Outcome!),
                ("timestamp", Normalise(item.OutcomeTimestamp!)),
                ("accepted", item.AcceptedSuggestions is { Count: > 0 } s ? JsonSerializer.Serialize(s.Select(a => a.Id).ToArray(), CdsHooksJson.Options) : null),
                ("override", item.OverrideReason is { IsEmpty: false } o ? JsonSerializer.Serialize(o, CdsHooksJson.Options) : null),
                ("received", receivedAt.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture)));
        }

        await transaction.CommitAsync(cancellationToken);
        return stored;
    }

    public async Task<IReadOnlyList<StoredFeedback>> ListForCardAsync(string cardUuid, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.QueryAsync("""
            SELECT service_id, card_uuid, outcome, outcome_timestamp, accepted_suggestions, override_reason, received_at
            FROM feedback WHERE card_uuid = @card ORDER BY outcome_timestamp;
            """, reader =>
            {
                var accepted = reader.IsDBNull(4) ? [] : JsonSerializer.Deserialize<string[]>(reader.GetString(4), CdsHooksJson.Options) ?? [];
                var overrideReason = reader.IsDBNull(5) ? null : JsonSerializer.Deserialize<OverrideReason>(reader.GetString(5), CdsHooksJson.Options);
                return new StoredFeedback(reader.GetString(0), reader.GetString(1), reader.GetString(2),
                    DateTimeOffset.Parse(reader.GetString(3), CultureInfo.InvariantCulture), accepted,
                    overrideReason?.Reason, overrideReason?.UserComment,
                    DateTimeOffset.Parse(reader.GetString(6), CultureInfo.InvariantCulture));
            }, cancellationToken, ("card", cardUuid));
    }

    // The same instant written two ways is the same feedback.
    private static string Normalise(string timestamp) =>
        DateTimeOffset.Parse(timestamp, CultureInfo.InvariantCulture).ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);
}
