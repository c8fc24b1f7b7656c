using System.Text.Json.Serialization;
using Relay.Data;

namespace Relay.Api.Messages;

/// <summary>The answer to <c>POST /v1/messages</c>: the message id and one delivery per target device.</summary>
public sealed record SendMessageResponse(Guid MessageId, IReadOnlyList<DeliveryResult> Deliveries);

/// <summary>What happened to the message on one device.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">The recipient's device.</param>
/// <param name="Status"><c>delivered</c>, <c>sent</c>, <c>retrying</c> or <c>failed</c>.</param>
/// <param name="ApnsId">The <c>apns-id</c> of every attempt of this delivery.</param>
/// <param name="Reason">APNs's own reason string when APNs gave one, or <c>Expired</c>.</param>
public sealed record DeliveryResult(Guid AccountId, Guid DeviceId, DeliveryStatus Status, Guid ApnsId, string? Reason);

/// <summary>The answer to <c>POST /v1/messages/sealed</c>: the message id and each target device's status, nothing more.</summary>
public sealed record SealedSendResponse(Guid MessageId, IReadOnlyList<SealedDeliveryResult> Deliveries)
{
    internal static SealedSendResponse From(SendMessageResponse response) =>
        new(response.MessageId, response.Deliveries.Select(d => new SealedDeliveryResult(d.AccountId, d.DeviceId, d.Status)).ToList());
}

/// <summary>A sealed message's state on one device.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">The recipient's device.</param>
/// <param name="Status"><c>delivered</c>, <c>sent</c>, <c>retrying</c> or <c>failed</c>.</param>
public sealed record SealedDeliveryResult(Guid AccountId, Guid DeviceId, DeliveryStatus Status);

/// <summary>The answer to <c>GET /v1/messages/{messageId}</c>.</summary>
public sealed record MessageState(Guid MessageId, DateTimeOffset CreatedAt, DateTimeOffset ExpiresAt, IReadOnlyList<DeliveryState> Deliveries);

/// <summary>One delivery's current state.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">The recipient's device.</param>
/// <param name="Status"><c>delivered</c>, <c>sent</c>, <c>retrying</c> or <c>failed</c>; it only moves forward.</param>
/// <param name="ApnsId">The <c>apns-id</c> of every attempt.</param>
/// <param name="Reason">APNs's reason of the last answer, or <c>Expired</c>.</param>
/// <param name="Attempts">APNs requests made so far.</param>
/// <param name="UpdatedAt">When the state last changed.</param>
public sealed record DeliveryState(Guid AccountId, Guid DeviceId, DeliveryStatus Status, Guid ApnsId, string? Reason, int Attempts, DateTimeOffset UpdatedAt);

/// <summary>A device a message encrypted per device must be encrypted for, as the 409 "Devices changed" lists it.</summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">Its active device.</param>
/// <param name="PublicKey">The X25519 key the device published, if it did.</param>
/// <param name="Signature">The account identity key's signature of <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>.</param>
public sealed record TargetDevice(
    Guid AccountId,
    Guid DeviceId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? PublicKey,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Signature);
