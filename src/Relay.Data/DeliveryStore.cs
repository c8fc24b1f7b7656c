using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;
using Relay.Apns;

namespace Relay.Data;

/// <summary>A message to accept, with its deliveries, as <see cref="DeliveryStore.AcceptAsync"/> writes it.</summary>
public sealed record NewMessage(Message Message, IReadOnlyList<Delivery> Deliveries);

/// <summary>What <see cref="DeliveryStore.AcceptAsync"/> committed of a batch.</summary>
/// <param name="Messages">The ids of the messages inserted; one missing was a repeat of a known key, or its sender is gone.</param>
/// <param name="Deliveries">The ids of the deliveries inserted; one missing had its device deleted meanwhile.</param>
public sealed record AcceptedBatch(IReadOnlySet<Guid> Messages, IReadOnlySet<Guid> Deliveries);

/// <summary>
/// A due delivery claimed by <see cref="DeliveryStore.ClaimDueAsync"/>, with what an attempt needs: its
/// <c>Ciphertext</c> is the device's own for a message encrypted per device, else the message's.
/// </summary>
public sealed record ClaimedDelivery(
    Guid Id, Guid MessageId, Guid AccountId, Guid DeviceId, int Attempts, bool TakenOver,
    string? Ciphertext, string? CollapseId, long ApnsExpiration, DateTimeOffset RetryUntil,
    string Token, string Topic, ApnsEnvironment Environment, string? DeviceInvalidReason,
    DateTimeOffset SentAt, DateTimeOffset ExpiresAt);

/// <summary>A delivery's new state after an attempt, written by <see cref="DeliveryStore.ApplyAsync"/>.</summary>
public sealed record DeliveryChange(Guid Id, DeliveryStatus Status, int Attempts, DateTimeOffset NextAttemptAt, string? Reason);

/// <summary>A delivery whose state a statement changed.</summary>
public sealed record ChangedDelivery(
    Guid Id, Guid MessageId, Guid AccountId, Guid DeviceId, DeliveryStatus Status, string? Reason, Guid? SenderAccountId, DateTimeOffset At);

/// <summary>The due deliveries waiting, for the gauges.</summary>
public sealed record DueBacklog(long Count, DateTimeOffset? Oldest);

/// <summary>
/// The statements of durable delivery, each one round trip for many rows (arrays unnested server-side): accepting
/// messages (group commit), claiming due deliveries under leases with <c>FOR UPDATE SKIP LOCKED</c>, writing
/// attempts' results, expiring, releasing leases and pruning. A status only moves forward: every write is guarded by
/// <c>status = 'retrying'</c>.
/// </summary>
public static class DeliveryStore
{
    /// <summary>
    /// Inserts many messages and their deliveries in one statement. A message whose sender already used its
    /// idempotency key, or whose sender no longer exists, is skipped; so is a delivery whose device was deleted.
    /// </summary>
    public static async Task<AcceptedBatch> AcceptAsync(this RelayDbContext db, IReadOnlyList<NewMessage> batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(batch);
        var messages = batch.Select(b => b.Message).ToList();
        var deliveries = batch.SelectMany(b => b.Deliveries).ToList();
        const string sql = """
            WITH inserted AS (
                INSERT INTO messages (id, sender_account_id, created_at, expires_at, retry_until, apns_expiration,
                                      collapse_id, ciphertext, idempotency_key, request_hash)
                SELECT m.* FROM unnest(@m_id, @m_sender, @m_created, @m_expires, @m_retry, @m_apns_expiration,
                                       @m_collapse, @m_ciphertext, @m_key, @m_hash)
                    AS m(id, sender, created, expires, retry, apns_expiration, collapse, ciphertext, key, hash)
                WHERE m.sender IS NULL OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = m.sender)
                ON CONFLICT (sender_account_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id),
            delivered AS (
                INSERT INTO deliveries (id, message_id, ordinal, account_id, device_id, status, attempts,
                                        next_attempt_at, lease_owner, lease_until, updated_at, ciphertext)
                SELECT d.id, d.message_id, d.ordinal, d.account_id, d.device_id, 'retrying', 0,
                       d.next_attempt_at, d.lease_owner, d.lease_until, d.updated_at, d.ciphertext
                FROM unnest(@d_id, @d_message, @d_ordinal, @d_account, @d_device, @d_next, @d_owner, @d_until, @d_updated,
                            @d_ciphertext)
                    AS d(id, message_id, ordinal, account_id, device_id, next_attempt_at, lease_owner, lease_until, updated_at,
                         ciphertext)
                WHERE d.message_id IN (SELECT id FROM inserted)
                  AND EXISTS (SELECT 1 FROM devices v WHERE v.id = d.device_id)
                RETURNING id)
            SELECT id, true FROM inserted
            UNION ALL
            SELECT id, false FROM delivered
            """;
        return await WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var p = command.Parameters;
            p.Add(Array("m_id", NpgsqlDbType.Uuid, messages.Select(m => m.Id)));
            p.Add(Array("m_sender", NpgsqlDbType.Uuid, messages.Select(m => m.SenderAccountId)));
            p.Add(Array("m_created", NpgsqlDbType.TimestampTz, messages.Select(m => m.CreatedAt)));
            p.Add(Array("m_expires", NpgsqlDbType.TimestampTz, messages.Select(m => m.ExpiresAt)));
            p.Add(Array("m_retry", NpgsqlDbType.TimestampTz, messages.Select(m => m.RetryUntil)));
            p.Add(Array("m_apns_expiration", NpgsqlDbType.Bigint, messages.Select(m => m.ApnsExpiration)));
            p.Add(Array("m_collapse", NpgsqlDbType.Text, messages.Select(m => m.CollapseId)));
            p.Add(Array("m_ciphertext", NpgsqlDbType.Text, messages.Select(m => m.Ciphertext)));
            p.Add(Array("m_key", NpgsqlDbType.Text, messages.Select(m => m.IdempotencyKey)));
            p.Add(Array("m_hash", NpgsqlDbType.Bytea, messages.Select(m => m.RequestHash)));
            p.Add(Array("d_id", NpgsqlDbType.Uuid, deliveries.Select(d => d.Id)));
            p.Add(Array("d_message", NpgsqlDbType.Uuid, deliveries.Select(d => d.MessageId)));
            p.Add(Array("d_ordinal", NpgsqlDbType.Integer, deliveries.Select(d => d.Ordinal)));
            p.Add(Array("d_account", NpgsqlDbType.Uuid, deliveries.Select(d => d.AccountId)));
            p.Add(Array("d_device", NpgsqlDbType.Uuid, deliveries.Select(d => d.DeviceId)));
            p.Add(Array("d_next", NpgsqlDbType.TimestampTz, deliveries.Select(d => d.NextAttemptAt)));
            p.Add(Array("d_owner", NpgsqlDbType.Uuid, deliveries.Select(d => d.LeaseOwner)));
            p.Add(Array("d_until", NpgsqlDbType.TimestampTz, deliveries.Select(d => d.LeaseUntil)));
            p.Add(Array("d_updated", NpgsqlDbType.TimestampTz, deliveries.Select(d => d.UpdatedAt)));
            p.Add(Array("d_ciphertext", NpgsqlDbType.Text, deliveries.Select(d => d.Ciphertext)));
            var insertedMessages = new HashSet<Guid>();
            var insertedDeliveries = new HashSet<Guid>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                (reader.GetBoolean(1) ? insertedMessages : insertedDeliveries).Add(reader.GetGuid(0));
            }

            return new AcceptedBatch(insertedMessages, insertedDeliveries);
        }, cancellationToken);
    }

    /// <summary>
    /// Leases up to <paramref name="limit"/> due deliveries of unexpired messages to <paramref name="owner"/> until
    /// <paramref name="leaseUntil"/>, oldest due first, skipping rows another instance is claiming right now.
    /// </summary>
    public static async Task<List<ClaimedDelivery>> ClaimDueAsync(
        this RelayDbContext db, Guid owner, DateTimeOffset now, DateTimeOffset leaseUntil, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        const string sql = """
            WITH due AS (
                SELECT d.id, d.lease_owner AS previous_owner
                FROM deliveries d JOIN messages m ON m.id = d.message_id
                WHERE d.status = 'retrying' AND d.next_attempt_at <= @now
                  AND (d.lease_until IS NULL OR d.lease_until < @now)
                  AND m.retry_until > @now
                ORDER BY d.next_attempt_at
                LIMIT @limit
                FOR UPDATE OF d SKIP LOCKED)
            UPDATE deliveries d SET lease_owner = @owner, lease_until = @until
            FROM due, messages m, devices v
            WHERE d.id = due.id AND m.id = d.message_id AND v.id = d.device_id
            RETURNING d.id, d.message_id, d.account_id, d.device_id, d.attempts, due.previous_owner IS NOT NULL,
                      coalesce(d.ciphertext, m.ciphertext), m.collapse_id, m.apns_expiration, m.retry_until,
                      v.token, v.topic, v.environment, v.invalid_reason, m.created_at, m.expires_at
            """;
        return await WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            command.Parameters.Add(new NpgsqlParameter<int>("limit", limit));
            command.Parameters.Add(new NpgsqlParameter<Guid>("owner", owner));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("until", leaseUntil));
            var claimed = new List<ClaimedDelivery>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                claimed.Add(new ClaimedDelivery(
                    reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetInt32(4), reader.GetBoolean(5),
                    NullableString(reader, 6), NullableString(reader, 7), reader.GetInt64(8), reader.GetFieldValue<DateTimeOffset>(9),
                    reader.GetString(10), reader.GetString(11),
                    ApnsEnvironments.Parse(reader.GetString(12)),
                    NullableString(reader, 13), reader.GetFieldValue<DateTimeOffset>(14), reader.GetFieldValue<DateTimeOffset>(15)));
            }

            return claimed;
        }, cancellationToken);
    }

    /// <summary>
    /// Writes attempts' results in one statement, releases <paramref name="owner"/>'s leases on them, and drops the
    /// ciphertexts no delivery needs any more: a finished delivery's own, and its message's once no other delivery needs
    /// it. A delivery no longer <c>retrying</c> is left alone (another instance finished it first).
    /// </summary>
    public static async Task<List<ChangedDelivery>> ApplyAsync(
        this RelayDbContext db, Guid owner, IReadOnlyList<DeliveryChange> changes, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(changes);
        const string sql = """
            WITH c AS (
                SELECT * FROM unnest(@id, @status, @attempts, @next, @reason) AS c(id, status, attempts, next_attempt_at, reason)),
            u AS (
                UPDATE deliveries d SET status = c.status, attempts = c.attempts, next_attempt_at = c.next_attempt_at,
                    reason = CASE WHEN c.status = 'retrying' THEN coalesce(c.reason, d.reason) ELSE c.reason END,
                    updated_at = @now,
                    lease_owner = CASE WHEN d.lease_owner = @owner THEN NULL ELSE d.lease_owner END,
                    lease_until = CASE WHEN d.lease_owner = @owner THEN NULL ELSE d.lease_until END,
                    ciphertext = CASE WHEN c.status = 'failed' OR (c.status = 'sent' AND NOT d.in_inbox) THEN NULL ELSE d.ciphertext END
                FROM c
                WHERE d.id = c.id AND d.status = 'retrying'
                RETURNING d.id, d.message_id, d.account_id, d.device_id, d.status, d.reason, d.in_inbox, d.updated_at),
            finished AS (SELECT id, message_id FROM u WHERE status = 'failed' OR (status = 'sent' AND NOT in_inbox)),
            cleared AS (
                UPDATE messages m SET ciphertext = NULL
                WHERE m.id IN (SELECT message_id FROM finished) AND m.ciphertext IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM deliveries x
                                  WHERE x.message_id = m.id AND x.id NOT IN (SELECT id FROM finished)
                                    AND (x.status = 'retrying' OR (x.status = 'sent' AND x.in_inbox))))
            SELECT u.id, u.message_id, u.account_id, u.device_id, u.status, u.reason, m.sender_account_id, u.updated_at
            FROM u JOIN messages m ON m.id = u.message_id
            """;
        return await WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            var p = command.Parameters;
            p.Add(Array("id", NpgsqlDbType.Uuid, changes.Select(c => c.Id)));
            p.Add(Array("status", NpgsqlDbType.Text, changes.Select(c => c.Status.ToText())));
            p.Add(Array("attempts", NpgsqlDbType.Integer, changes.Select(c => c.Attempts)));
            p.Add(Array("next", NpgsqlDbType.TimestampTz, changes.Select(c => c.NextAttemptAt)));
            p.Add(Array("reason", NpgsqlDbType.Text, changes.Select(c => Truncate(c.Reason))));
            p.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            p.Add(new NpgsqlParameter<Guid>("owner", owner));
            return await ReadChangedAsync(command, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>
    /// Fails with reason <c>Expired</c> every due delivery whose message's retry window has passed and that no live
    /// lease holds, and drops their ciphertexts (their own, and their messages').
    /// </summary>
    public static async Task<List<ChangedDelivery>> ExpireAsync(this RelayDbContext db, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        const string sql = """
            WITH e AS (
                UPDATE deliveries d SET status = 'failed', reason = 'Expired', updated_at = @now, lease_owner = NULL, lease_until = NULL,
                    ciphertext = NULL
                FROM messages m
                WHERE m.id = d.message_id AND d.status = 'retrying' AND d.next_attempt_at <= @now
                  AND m.retry_until <= @now AND (d.lease_until IS NULL OR d.lease_until < @now)
                RETURNING d.id, d.message_id, d.account_id, d.device_id, d.status, d.reason, m.sender_account_id, d.updated_at),
            cleared AS (
                UPDATE messages m SET ciphertext = NULL
                WHERE m.id IN (SELECT message_id FROM e) AND m.ciphertext IS NOT NULL)
            SELECT id, message_id, account_id, device_id, status, reason, sender_account_id, updated_at FROM e
            """;
        return await WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            return await ReadChangedAsync(command, cancellationToken);
        }, cancellationToken);
    }

    /// <summary>Gives up <paramref name="owner"/>'s leases on deliveries it will not attempt, so any instance may.</summary>
    public static Task<int> ReleaseLeasesAsync(this RelayDbContext db, Guid owner, IReadOnlyCollection<Guid> deliveryIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Deliveries
            .Where(d => deliveryIds.Contains(d.Id) && d.LeaseOwner == owner && d.Status == DeliveryStatus.Retrying)
            .ExecuteUpdateAsync(set => set.SetProperty(d => d.LeaseOwner, (Guid?)null).SetProperty(d => d.LeaseUntil, (DateTimeOffset?)null), cancellationToken);
    }

    /// <summary>The number of deliveries due now and the oldest due time among them.</summary>
    public static async Task<DueBacklog> DueBacklogAsync(this RelayDbContext db, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        var due = db.Deliveries.AsNoTracking().Where(d => d.Status == DeliveryStatus.Retrying && d.NextAttemptAt <= now);
        var count = await due.LongCountAsync(cancellationToken);
        var oldest = count == 0 ? null : await due.MinAsync(d => (DateTimeOffset?)d.NextAttemptAt, cancellationToken);
        return new DueBacklog(count, oldest);
    }

    /// <summary>
    /// Housekeeping: forgets idempotency keys older than <paramref name="keysBefore"/>, drops the ciphertexts of
    /// messages expired by <paramref name="now"/> and of those no delivery needs (neither owed to APNs nor waiting in
    /// an inbox; a finishing race can leave one), likewise the per-device ciphertexts of deliveries, and deletes
    /// messages (with their deliveries) that expired before
    /// <paramref name="expiredBefore"/>. Each part is bounded, so a large backlog is worked off over several calls.
    /// </summary>
    public static async Task PruneAsync(
        this RelayDbContext db, DateTimeOffset now, DateTimeOffset keysBefore, DateTimeOffset expiredBefore, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        const string sql = """
            UPDATE messages SET idempotency_key = NULL
            WHERE id IN (SELECT id FROM messages WHERE idempotency_key IS NOT NULL AND created_at < @keys LIMIT 10000);
            UPDATE messages m SET ciphertext = NULL
            WHERE m.id IN (SELECT id FROM messages x WHERE x.ciphertext IS NOT NULL
                             AND (x.expires_at < @now
                                  OR NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = x.id
                                                   AND (d.status = 'retrying' OR (d.status = 'sent' AND d.in_inbox))))
                           LIMIT 10000);
            UPDATE deliveries d SET ciphertext = NULL
            WHERE d.id IN (SELECT x.id FROM deliveries x JOIN messages m ON m.id = x.message_id
                           WHERE x.ciphertext IS NOT NULL
                             AND (m.expires_at < @now OR NOT (x.status = 'retrying' OR (x.status = 'sent' AND x.in_inbox)))
                           LIMIT 10000);
            DELETE FROM messages WHERE id IN (SELECT id FROM messages WHERE expires_at < @expired LIMIT 10000);
            """;
        await WithConnectionAsync(db, async connection =>
        {
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("keys", keysBefore));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("expired", expiredBefore));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("now", now));
            return await command.ExecuteNonQueryAsync(cancellationToken);
        }, cancellationToken);
    }

    internal static async Task<List<ChangedDelivery>> ReadChangedAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var changed = new List<ChangedDelivery>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(new ChangedDelivery(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3),
                DeliveryStatuses.Parse(reader.GetString(4)), NullableString(reader, 5),
                reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.GetFieldValue<DateTimeOffset>(7)));
        }

        return changed;
    }

    internal static async Task<T> WithConnectionAsync<T>(RelayDbContext db, Func<NpgsqlConnection, Task<T>> work, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            return await work((NpgsqlConnection)db.Database.GetDbConnection());
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };

    private static string? NullableString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static string? Truncate(string? reason) => reason is { Length: > Delivery.ReasonMaxLength } ? reason[..Delivery.ReasonMaxLength] : reason;
}
