using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Client;

/// <summary>A message to post: its recipients and either one ciphertext for all their devices or one per device.</summary>
public sealed class OutgoingMessage
{
    /// <summary>1 to 64 distinct recipient accounts; the caller's own account sends to its other devices.</summary>
    public required IReadOnlyList<MessageRecipient> To { get; init; }

    /// <summary>One ciphertext for every device of every recipient; sent as standard base64, forwarded byte for byte.</summary>
    public ReadOnlyMemory<byte>? Ciphertext { get; init; }

    /// <summary>
    /// One ciphertext per device instead of <see cref="Ciphertext"/>: exactly the recipients' active devices, else
    /// the relay answers <c>409</c> with its current list (<see cref="MessagesClient.SendEnvelopeAsync"/> refreshes
    /// and retries by itself).
    /// </summary>
    public IReadOnlyList<DeviceCiphertext>? Ciphertexts { get; init; }

    /// <summary>Seconds the relay and APNs keep trying, 0 to 2,592,000; the relay's default (30 days, or its <c>Privacy:TtlSeconds</c>) when null.</summary>
    public int? TtlSeconds { get; init; }

    /// <summary>An <c>apns-collapse-id</c>: 1 to 64 visible ASCII characters; a newer push with it replaces an older one.</summary>
    public string? CollapseId { get; init; }

    /// <summary>The sending device, when the caller's own account is a recipient: it does not get its own message.</summary>
    public Guid? FromDeviceId { get; init; }

    /// <summary>
    /// The <c>Idempotency-Key</c>: a repeat with the same key within 24 hours is the same message, sent once. The
    /// client makes a random one when this is null, and keeps it across its own retries.
    /// </summary>
    public string? IdempotencyKey { get; init; }
}

/// <summary>A recipient account, with its delivery key when it requires one (or for a sealed send).</summary>
/// <param name="AccountId">The recipient.</param>
[JsonConverter(typeof(MessageRecipientConverter))]
public sealed record MessageRecipient(Guid AccountId)
{
    /// <summary>The recipient's delivery key (16 to 32 bytes), shared by it with its contacts.</summary>
    public ReadOnlyMemory<byte>? DeliveryKey { get; init; }
}

/// <summary>The ciphertext for one device.</summary>
/// <param name="DeviceId">The recipient's device.</param>
/// <param name="Ciphertext">What that device gets, forwarded byte for byte.</param>
public sealed record DeviceCiphertext(Guid DeviceId, ReadOnlyMemory<byte> Ciphertext);

/// <summary>What became of a send: the message id and one delivery per target device.</summary>
/// <param name="MessageId">The message's id; the push's payload carries it too.</param>
/// <param name="Deliveries">One per active device of each recipient.</param>
public sealed record SendResult(Guid MessageId, IReadOnlyList<DeliveryResult> Deliveries);

/// <summary>What happened to a message on one device when the send was answered.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">Its device.</param>
/// <param name="Status">Where the delivery is.</param>
/// <param name="ApnsId">The <c>apns-id</c> every attempt carries (not shown for sealed sends).</param>
/// <param name="Reason">APNs's own reason, or <c>Expired</c>, when there is one.</param>
public sealed record DeliveryResult(Guid AccountId, Guid DeviceId, DeliveryStatus Status, Guid? ApnsId = null, string? Reason = null);

/// <summary>A sent message's current state (<see cref="MessagesClient.GetAsync"/>).</summary>
/// <param name="MessageId">The message.</param>
/// <param name="CreatedAt">When the relay accepted it.</param>
/// <param name="ExpiresAt">When it stops trying.</param>
/// <param name="Deliveries">Every delivery's state now.</param>
public sealed record MessageState(Guid MessageId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, IReadOnlyList<DeliveryState> Deliveries);

/// <summary>One delivery's state now.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">Its device.</param>
/// <param name="Status">Where the delivery is; it only moves forward.</param>
/// <param name="ApnsId">The <c>apns-id</c> of every attempt.</param>
/// <param name="Reason">APNs's reason of the last answer, or <c>Expired</c>.</param>
/// <param name="Attempts">APNs requests made so far.</param>
/// <param name="UpdatedAt">When the state last changed.</param>
public sealed record DeliveryState(Guid AccountId, Guid DeviceId, DeliveryStatus Status, Guid? ApnsId, string? Reason, int Attempts, DateTimeOffset UpdatedAt);

/// <summary>Where a delivery is. It only moves forward: retrying → sent or failed; sent → delivered.</summary>
public enum DeliveryStatus
{
    /// <summary><c>retrying</c>: APNs has not accepted it yet; the relay keeps trying until the message expires.</summary>
    Retrying,

    /// <summary><c>sent</c>: APNs accepted it.</summary>
    Sent,

    /// <summary><c>delivered</c>: the device acknowledged it (realtime channel or inbox). Final.</summary>
    Delivered,

    /// <summary><c>failed</c>: it never will be sent; the reason says why. Final.</summary>
    Failed,
}

/// <summary>A recipient of an envelope: an account and the identity key the sender trusts for it.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="IdentityKey">
/// Its Ed25519 identity key as the sender learnt it from the contact (never from the relay): only device keys it
/// signed are sealed to.
/// </param>
public sealed record EnvelopeRecipient(Guid AccountId, NSec.Cryptography.PublicKey IdentityKey)
{
    /// <summary>Its delivery key, when it requires one, or for a sealed send.</summary>
    public ReadOnlyMemory<byte>? DeliveryKey { get; init; }
}

/// <summary>How <see cref="MessagesClient.SendEnvelopeAsync"/> sends.</summary>
public sealed class EnvelopeSendOptions
{
    /// <summary>Seconds the relay and APNs keep trying; give every kind the same, so the ttl does not tell a call from a text.</summary>
    public int? TtlSeconds { get; init; }

    /// <summary>An <c>apns-collapse-id</c>.</summary>
    public string? CollapseId { get; init; }

    /// <summary>The sending device, when the caller's own account is a recipient: it gets nothing.</summary>
    public Guid? FromDeviceId { get; init; }

    /// <summary>
    /// Send through <c>POST /v1/messages/sealed</c>: the relay does not learn who sent it. Every recipient needs its
    /// <see cref="EnvelopeRecipient.DeliveryKey"/>. (Looking the device keys up still takes a signed-in client.)
    /// </summary>
    public bool Sealed { get; init; }
}

/// <summary>A plain account id string, or <c>{"accountId", "deliveryKey"}</c> when there is a key.</summary>
internal sealed class MessageRecipientConverter : JsonConverter<MessageRecipient>
{
    public override MessageRecipient Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new MessageRecipient(reader.GetGuid());
        }

        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        return new MessageRecipient(root.GetProperty("accountId").GetGuid())
        {
            DeliveryKey = root.TryGetProperty("deliveryKey", out var key) && key.ValueKind == JsonValueKind.String ? key.GetBytesFromBase64() : null,
        };
    }

    public override void Write(Utf8JsonWriter writer, MessageRecipient value, JsonSerializerOptions options)
    {
        if (value.DeliveryKey is not { } key)
        {
            writer.WriteStringValue(value.AccountId);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("accountId", value.AccountId);
        writer.WriteBase64String("deliveryKey", key.Span);
        writer.WriteEndObject();
    }
}
