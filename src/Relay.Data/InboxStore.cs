using Npgsql;
using NpgsqlTypes;

namespace Relay.Data;

/// <summary>A message waiting in a device's inbox, as the device receives it: with its own ciphertext when it has one.</summary>
public sealed record InboxMessage(Guid MessageId, string Ciphertext, string? CollapseId, DateTimeOffset SentAt, DateTimeOffset ExpiresAt);

/// <summary>
/// Each device's inbox: its deliveries that are not acknowledged, not dropped by the cap and not expired, whatever
/// APNs made of them. One statement per operation, on raw Npgsql like <see cref="DeliveryStore"/>.
/// </summary>
public static class InboxStore
{
    /// <summary>
    /// Up to <paramref name="limit"/> messages of <paramref name="deviceId"/>'s inbox, oldest first, after
    /// <paramref name="after"/> (a message id, for paging) if given; <c>More</c> says whether others follow.
    /// </summary>
    public static async Task<(List<InboxMessage> Messages, bool More)> ListInboxAsync(
        this RelayDbContext db, Guid deviceId, DateTimeOffset now, int limit, Guid? after = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        const string sql = """
            SELECT m.id, coalesce(d.ciphertext, m.ciphertext), m.collapse_id, m.created_at, m.expires_at
            FROM deliveries d JOIN messages m ON m.id = d.message_id
            WHERE d.device_id = @device AND d.in_inbox AND d.status IN ('retrying', 'sent')
              AND m.expires_at > @now AND coalesce(d.ciphertext, m.ciphertext) IS NOT NULL
              AND (@after::uuid IS NULL OR d.message_id > @after)
            ORDER BY d.message_id
            LIMIT @take
            """;
        return await DeliveryStore.WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<Guid>("device", deviceId));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            command.Parameters.Add(new NpgsqlParameter("after", NpgsqlDbType.Uuid) { Value = after is { } a ? a : DBNull.Value });
            command.Parameters.Add(new NpgsqlParameter<int>("take", limit + 1));
            var messages = new List<InboxMessage>(Math.Min(limit + 1, 512));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                messages.Add(new InboxMessage(
                    reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                    reader.GetFieldValue<DateTimeOffset>(3), reader.GetFieldValue<DateTimeOffset>(4)));
            }

            var more = messages.Count > limit;
            if (more)
            {
                messages.RemoveAt(messages.Count - 1);
            }

            return (messages, more);
        }, cancellationToken);
    }

    /// <summary>
    /// Acknowledges <paramref name="messageIds"/> for <paramref name="deviceId"/>: each delivery still
    /// <c>retrying</c> or <c>sent</c> becomes <c>delivered</c>, leaves the inbox and loses its own ciphertext; a
    /// message that no delivery needs any more loses its ciphertext. Returns the deliveries newly acknowledged (an id acknowledged before, unknown or
    /// not addressed to the device changes nothing).
    /// </summary>
    public static async Task<List<ChangedDelivery>> AcknowledgeAsync(
        this RelayDbContext db, Guid deviceId, IReadOnlyCollection<Guid> messageIds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(messageIds);
        if (messageIds.Count == 0)
        {
            return [];
        }

        const string sql = """
            WITH u AS (
                UPDATE deliveries d SET status = 'delivered', reason = NULL, in_inbox = false, updated_at = @now,
                    lease_owner = NULL, lease_until = NULL, ciphertext = NULL
                WHERE d.device_id = @device AND d.message_id = ANY(@ids) AND d.status IN ('retrying', 'sent')
                RETURNING d.id, d.message_id, d.account_id, d.device_id, d.status, d.reason, d.updated_at),
            cleared AS (
                UPDATE messages m SET ciphertext = NULL
                WHERE m.id IN (SELECT message_id FROM u) AND m.ciphertext IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM deliveries x
                                  WHERE x.message_id = m.id AND x.id NOT IN (SELECT id FROM u)
                                    AND (x.status = 'retrying' OR (x.status = 'sent' AND x.in_inbox))))
            SELECT u.id, u.message_id, u.account_id, u.device_id, u.status, u.reason, m.sender_account_id, u.updated_at
            FROM u JOIN messages m ON m.id = u.message_id
            """;
        return await DeliveryStore.WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<Guid>("device", deviceId));
            command.Parameters.Add(new NpgsqlParameter<Guid[]>("ids", [.. messageIds.Distinct()]));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            return await DeliveryStore.ReadChangedAsync(command, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Keeps the inboxes of <paramref name="deviceIds"/> within <paramref name="maxPerDevice"/>: the oldest beyond it
    /// leave the inbox (their APNs deliveries go on, so one still <c>retrying</c> keeps its own ciphertext; a
    /// <c>sent</c> one loses it). Only the devices named are read, each through its inbox index, so the cost follows the
    /// devices that received messages, not the size of every inbox. Returns how many were dropped.
    /// </summary>
    public static async Task<int> TrimInboxesAsync(
        this RelayDbContext db, IReadOnlyCollection<Guid> deviceIds, int maxPerDevice, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(deviceIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPerDevice, 1);
        if (deviceIds.Count == 0)
        {
            return 0;
        }

        const string sql = """
            WITH over AS (
                SELECT x.id FROM unnest(@devices) AS v(device_id)
                CROSS JOIN LATERAL (
                    SELECT d.id FROM deliveries d
                    WHERE d.device_id = v.device_id AND d.in_inbox AND d.status IN ('retrying', 'sent')
                    ORDER BY d.message_id DESC
                    OFFSET @cap) x)
            UPDATE deliveries d SET in_inbox = false, ciphertext = CASE WHEN d.status = 'sent' THEN NULL ELSE d.ciphertext END
            FROM over o WHERE d.id = o.id
            """;
        return await DeliveryStore.WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<Guid[]>("devices", [.. deviceIds]));
            command.Parameters.Add(new NpgsqlParameter<int>("cap", maxPerDevice));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }
}
