using Relay.Data;

namespace Relay.Api.Realtime;

/// <summary>What the relay calls on a connected device: the hub's server-to-client methods, by these names.</summary>
public interface IRelayClient
{
    /// <summary>A message for this device: the same ciphertext a push would carry.</summary>
    Task Message(RealtimeMessage message);

    /// <summary>A delivery of a message this account sent changed state after the send was answered.</summary>
    Task DeliveryUpdated(DeliveryUpdate update);
}

/// <summary>A message as a device receives it, live or from its inbox.</summary>
public sealed record RealtimeMessage(Guid MessageId, string Ciphertext, string? CollapseId, DateTimeOffset SentAt, DateTimeOffset ExpiresAt);

/// <summary>A delivery's new state, for the sender's devices.</summary>
public sealed record DeliveryUpdate(Guid MessageId, Guid AccountId, Guid DeviceId, DeliveryStatus Status, string? Reason, DateTimeOffset At);
