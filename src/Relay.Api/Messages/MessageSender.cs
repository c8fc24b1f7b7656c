using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Relay.Api.Accounts;
using Relay.Api.Deliveries;
using Relay.Api.Realtime;
using Relay.Apns;
using Relay.Data;

namespace Relay.Api.Messages;

/// <summary>
/// Accepts a message: finds the recipients' active devices, commits the message and one delivery per device (group
/// commit) before anything is sent, makes every first attempt at once and answers within
/// <c>Delivery:AnswerTimeout</c> — what has not finished by then is <c>retrying</c> and goes on in the background.
/// A repeat under the same <c>Idempotency-Key</c> answers with the first message and sends nothing again.
/// </summary>
public sealed partial class MessageSender(
    RecipientLookup recipients,
    MessageIntake intake,
    DeliveryAttempts attempts,
    IDbContextFactory<RelayDbContext> contexts,
    IOptions<ApnsApps> apps,
    IOptions<DeliveryOptions> options,
    RelayInstance instance,
    RelayMetrics metrics,
    DeliveryUpdates updates,
    PrivacyPolicy privacy,
    SealedSendLimits sealedLimits,
    TimeProvider time,
    ILogger<MessageSender> logger)
{
    private readonly ConcurrentDictionary<(Guid, string), Task> _accepting = new();

    /// <summary>The longest ciphertext (base64 characters, a multiple of 4) that fits the payload of every app.</summary>
    public int MaxCiphertextLength => apps.Value.MaxCiphertextLength;

    /// <summary>
    /// Sends <paramref name="request"/> from <paramref name="senderId"/>, or sealed (no sender: every recipient must be
    /// named with its delivery key) when it is null.
    /// </summary>
    public async Task<SendOutcome> SendAsync(Guid? senderId, SendMessageRequest request, string? idempotencyKey, CancellationToken cancellationToken)
    {
        // Who may be reached is decided before anything else, a repeat included: a repeat answers only a sender who
        // could have sent the first. An authenticated sender is looked up with its recipients: the bearer check leaves
        // it to this lookup.
        var to = request.AccountIds;
        var ids = senderId is { } sender && !to.Contains(sender) ? [.. to, sender] : to;
        var found = await recipients.FindAsync(ids, cancellationToken);
        if (senderId is { } me && !found.ContainsKey(me))
        {
            return SendOutcome.SenderGone;
        }

        if (senderId is null)
        {
            if (!DeliveryKeys.AllPresented(request.To!, found))
            {
                return SendOutcome.Unauthorized;
            }

            if (sealedLimits.Acquire(to) is { } wait)
            {
                return SendOutcome.RateLimited(wait);
            }
        }
        else if (DeliveryKeys.FirstRefused(request.To!, found) is { } refused)
        {
            return SendOutcome.KeyRequired(refused);
        }

        if (idempotencyKey is null)
        {
            return await AcceptAsync(senderId, request, to, found, null, null, cancellationToken);
        }

        var hash = RequestHash(request, to);
        var slot = (senderId ?? Guid.Empty, idempotencyKey);
        while (true)
        {
            if (await FindRepeatAsync(senderId, idempotencyKey, hash, cancellationToken) is { } repeat)
            {
                return repeat;
            }

            // One acceptance per key at a time in this process; across instances the unique index decides.
            var accepting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_accepting.TryAdd(slot, accepting.Task))
            {
                if (_accepting.TryGetValue(slot, out var first))
                {
                    await first.WaitAsync(cancellationToken);
                }

                continue;
            }

            try
            {
                return await AcceptAsync(senderId, request, to, found, idempotencyKey, hash, cancellationToken);
            }
            finally
            {
                _accepting.TryRemove(slot, out _);
                accepting.TrySetResult();
            }
        }
    }

    public async Task<MessageState?> FindAsync(Guid senderId, Guid messageId, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var message = await db.Messages.AsNoTracking()
            .Where(m => m.Id == messageId && m.SenderAccountId == senderId)
            .Select(m => new { m.Id, m.CreatedAt, m.ExpiresAt })
            .SingleOrDefaultAsync(cancellationToken);
        if (message is null)
        {
            return null;
        }

        var deliveries = await db.Deliveries.AsNoTracking()
            .Where(d => d.MessageId == messageId)
            .OrderBy(d => d.Ordinal)
            .Select(d => new DeliveryState(d.AccountId, d.DeviceId, d.Status, d.Id, d.Reason, d.Attempts, d.UpdatedAt))
            .ToListAsync(cancellationToken);
        return new MessageState(message.Id, message.CreatedAt, message.ExpiresAt, deliveries);
    }

    private async Task<SendOutcome> AcceptAsync(
        Guid? senderId, SendMessageRequest request, List<Guid> to, Dictionary<Guid, Recipient> found, string? key, byte[]? hash,
        CancellationToken cancellationToken)
    {
        var unknown = to.FindIndex(id => !found.ContainsKey(id));
        if (unknown >= 0)
        {
            return SendOutcome.UnknownAccount(to[unknown]);
        }

        var now = time.GetUtcNow();
        var delivery = options.Value;
        var ttl = privacy.TtlFor(request);
        var expiresAt = now.AddSeconds(ttl);
        var message = new Message
        {
            Id = Guid.CreateVersion7(now),
            SenderAccountId = senderId,
            CreatedAt = now,
            ExpiresAt = expiresAt,
            RetryUntil = ttl == 0 ? now + delivery.ImmediateRetryWindow : expiresAt,
            ApnsExpiration = ttl == 0 ? 0 : expiresAt.ToUnixTimeSeconds(),
            CollapseId = request.CollapseId,
            IdempotencyKey = key,
            RequestHash = hash,
        };

        var targets = to.SelectMany(id => found[id].Devices)
            .Where(d => request.FromDeviceId is not { } from || d.DeviceId != from || d.AccountId != senderId)
            .ToList();
        var own = OwnCiphertexts(request, targets);
        if (request.Ciphertexts is not null && own is null)
        {
            return SendOutcome.DevicesChanged(await CurrentDevicesAsync(targets, cancellationToken));
        }

        message.Ciphertext = targets.Count > 0 ? request.Ciphertext : null;
        var leaseUntil = now + delivery.LeaseTimeout;
        var rows = targets.Select((target, i) => new Relay.Data.Delivery
        {
            Id = Guid.NewGuid(),
            MessageId = message.Id,
            Ordinal = i,
            AccountId = target.AccountId,
            DeviceId = target.DeviceId,
            Status = DeliveryStatus.Retrying,
            NextAttemptAt = now,
            LeaseOwner = instance.Id,
            LeaseUntil = leaseUntil,
            UpdatedAt = now,
            Ciphertext = own?[target.DeviceId],
        }).ToList();

        // Durable before anything is sent or answered.
        var accepted = await intake.AcceptAsync(new NewMessage(message, rows));
        if (!accepted.Messages.Contains(message.Id))
        {
            return key is not null && await FindRepeatAsync(senderId, key, hash!, cancellationToken) is { } repeat
                ? repeat
                : SendOutcome.SenderGone;
        }

        metrics.MessageAccepted(to.Count);
        using var answering = updates.Answering(message.Id);
        var payloads = new Dictionary<string, ReadOnlyMemory<byte>>(StringComparer.Ordinal);
        var firstAttempts = new List<(int Index, Task<AttemptResult> Attempt)>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            if (!accepted.Deliveries.Contains(rows[i].Id))
            {
                continue;
            }

            var target = targets[i];
            ReadOnlyMemory<byte>? payload = null;
            if (apps.Value.Find(target.Topic) is { } app)
            {
                // One payload per app for a shared ciphertext; a device's own is its own payload.
                if (rows[i].Ciphertext is { } ownCiphertext)
                {
                    payload = app.Payload.Build(ownCiphertext, message.Id);
                }
                else
                {
                    if (!payloads.TryGetValue(target.Topic, out var built))
                    {
                        payloads[target.Topic] = built = app.Payload.Build(request.Ciphertext!, message.Id);
                    }

                    payload = built;
                }
            }

            var claim = new ClaimedDelivery(rows[i].Id, message.Id, target.AccountId, target.DeviceId, 0, false,
                rows[i].Ciphertext ?? message.Ciphertext, message.CollapseId, message.ApnsExpiration, message.RetryUntil,
                target.Token, target.Topic, target.Environment, null, message.CreatedAt, message.ExpiresAt);
            firstAttempts.Add((i, attempts.Start(claim, payload)));
        }

        if (firstAttempts.Count > 0)
        {
            // Not Task.Delay: its timer would outlive almost every answer by the whole timeout.
            Task all = firstAttempts.Count == 1 ? firstAttempts[0].Attempt : Task.WhenAll(firstAttempts.Select(a => a.Attempt));
            await all.WaitAsync(delivery.AnswerTimeout, time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        var results = new List<DeliveryResult>(firstAttempts.Count);
        var sent = 0;
        foreach (var (index, attempt) in firstAttempts)
        {
            var row = rows[index];
            var result = attempt.IsCompletedSuccessfully ? attempt.Result : null;
            var status = result?.Status ?? DeliveryStatus.Retrying;
            sent += status == DeliveryStatus.Sent ? 1 : 0;
            results.Add(new DeliveryResult(row.AccountId, row.DeviceId, status, row.Id, result?.Status is null ? null : result.Reason));
        }

        LogAccepted(logger, message.Id, to.Count, results.Count, sent);
        return SendOutcome.Accepted(new SendMessageResponse(message.Id, results));
    }

    /// <summary>
    /// Each target device's own ciphertext, when the request gives one per device and names exactly the target
    /// devices, each once; null for a request with one shared ciphertext, or one that names other devices.
    /// </summary>
    private static Dictionary<Guid, string>? OwnCiphertexts(SendMessageRequest request, List<RecipientDevice> targets)
    {
        if (request.Ciphertexts is not { } given || given.Count != targets.Count)
        {
            return null;
        }

        var own = new Dictionary<Guid, string>(given.Count);
        foreach (var entry in given)
        {
            if (!own.TryAdd(entry.DeviceId!.Value, entry.Ciphertext!))
            {
                return null;
            }
        }

        return targets.TrueForAll(t => own.ContainsKey(t.DeviceId)) ? own : null;
    }

    /// <summary>The devices a per-device message must be encrypted for now, with the keys they published.</summary>
    private async Task<List<TargetDevice>> CurrentDevicesAsync(List<RecipientDevice> targets, CancellationToken cancellationToken)
    {
        var ids = targets.ConvertAll(t => t.DeviceId);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var keys = await db.Devices.AsNoTracking()
            .Where(d => ids.Contains(d.Id) && d.PublicKey != null)
            .Select(d => new { d.Id, d.PublicKey, d.PublicKeySignature })
            .ToDictionaryAsync(d => d.Id, cancellationToken);
        return targets.ConvertAll(t => keys.TryGetValue(t.DeviceId, out var key)
            ? new TargetDevice(t.AccountId, t.DeviceId, Convert.ToBase64String(key.PublicKey!), Convert.ToBase64String(key.PublicKeySignature!))
            : new TargetDevice(t.AccountId, t.DeviceId, null, null));
    }

    /// <summary>The message an earlier request with this key created, as it stands now; 422 if it asked for something else.</summary>
    private async Task<SendOutcome?> FindRepeatAsync(Guid? senderId, string key, byte[] hash, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        var first = await db.Messages.AsNoTracking()
            .Where(m => m.SenderAccountId == senderId && m.IdempotencyKey == key)
            .Select(m => new { m.Id, m.RequestHash })
            .SingleOrDefaultAsync(cancellationToken);
        if (first is null)
        {
            return null;
        }

        if (first.RequestHash is null || !CryptographicOperations.FixedTimeEquals(first.RequestHash, hash))
        {
            return SendOutcome.KeyReused;
        }

        var deliveries = await db.Deliveries.AsNoTracking()
            .Where(d => d.MessageId == first.Id)
            .OrderBy(d => d.Ordinal)
            .Select(d => new DeliveryResult(d.AccountId, d.DeviceId, d.Status, d.Id, d.Reason))
            .ToListAsync(cancellationToken);
        LogRepeat(logger, first.Id);
        return SendOutcome.Accepted(new SendMessageResponse(first.Id, deliveries));
    }

    /// <summary>
    /// SHA-256 over the fields a repeat must match: recipients (in any order), ciphertext (or each device's, in any
    /// order), ttl and collapse id.
    /// </summary>
    private byte[] RequestHash(SendMessageRequest request, List<Guid> to)
    {
        var text = new StringBuilder();
        foreach (var id in to.Order())
        {
            text.Append(id.ToString("N")).Append(',');
        }

        text.Append('\n').Append(request.Ciphertext ?? CiphertextsText(request.Ciphertexts!)).Append('\n')
            .Append(privacy.TtlFor(request)).Append('\n')
            .Append(request.CollapseId is null ? "-" : "+" + request.CollapseId);
        return SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()));
    }

    /// <summary>Per-device ciphertexts for the request hash, by device id: <c>*{deviceId}:{ciphertext},…</c> (never base64).</summary>
    private static string CiphertextsText(List<DeviceCiphertext> ciphertexts) =>
        "*" + string.Join(',', ciphertexts.OrderBy(c => c.DeviceId).ThenBy(c => c.Ciphertext, StringComparer.Ordinal)
            .Select(c => $"{c.DeviceId:N}:{c.Ciphertext}"));

    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} for {Recipients} accounts: {Sent} of {Devices} devices sent at once")]
    private static partial void LogAccepted(ILogger logger, Guid messageId, int recipients, int devices, int sent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Repeated request for message {MessageId}: answered with its current state, nothing sent again")]
    private static partial void LogRepeat(ILogger logger, Guid messageId);
}

/// <summary>What <see cref="MessageSender.SendAsync"/> ended with.</summary>
public sealed record SendOutcome
{
    private SendOutcome()
    {
    }

    public SendMessageResponse? Response { get; private init; }

    public Guid? Unknown { get; private init; }

    public bool IsKeyReused { get; private init; }

    public bool IsSenderGone { get; private init; }

    /// <summary>The devices a per-device message must name now, when it named others.</summary>
    public IReadOnlyList<TargetDevice>? ChangedDevices { get; private init; }

    public static SendOutcome Accepted(SendMessageResponse response) => new() { Response = response };

    public static SendOutcome UnknownAccount(Guid accountId) => new() { Unknown = accountId };

    public static SendOutcome KeyReused { get; } = new() { IsKeyReused = true };

    public static SendOutcome DevicesChanged(IReadOnlyList<TargetDevice> devices) => new() { ChangedDevices = devices };

    public static SendOutcome SenderGone { get; } = new() { IsSenderGone = true };

    /// <summary>An authenticated send to an account that requires its delivery key, without it or with a wrong one.</summary>
    public Guid? KeyRefused { get; private init; }

    /// <summary>A sealed send that did not name every recipient with its right key (or named an unknown account).</summary>
    public bool IsUnauthorized { get; private init; }

    public static SendOutcome KeyRequired(Guid accountId) => new() { KeyRefused = accountId };

    public static SendOutcome Unauthorized { get; } = new() { IsUnauthorized = true };

    /// <summary>A sealed send over a recipient's limit: how long to wait.</summary>
    public TimeSpan? RetryAfter { get; private init; }

    public static SendOutcome RateLimited(TimeSpan wait) => new() { RetryAfter = wait };
}
