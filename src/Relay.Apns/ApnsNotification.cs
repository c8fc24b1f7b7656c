namespace Relay.Apns;

/// <summary>
/// One notification for one device: every header of an APNs request and the payload bytes. Build the payload with
/// <see cref="ApnsPayload"/>. Keep the instance (and so its <see cref="ApnsId"/>) when sending the same delivery again.
/// </summary>
public sealed class ApnsNotification
{
    /// <summary>The device token, in hex as the device reported it.</summary>
    public required string DeviceToken { get; init; }

    /// <summary>The app's bundle id, sent as <c>apns-topic</c>.</summary>
    public required string Topic { get; init; }

    /// <summary>Which APNs endpoint serves this device.</summary>
    public ApnsEnvironment Environment { get; init; } = ApnsEnvironment.Production;

    /// <summary><c>apns-push-type</c>.</summary>
    public ApnsPushType PushType { get; init; } = ApnsPushType.Alert;

    /// <summary><c>apns-priority</c>: 10 (immediate), 5 (power-considerate) or 1 (low).</summary>
    public int Priority { get; init; } = 10;

    /// <summary>
    /// <c>apns-expiration</c> in UNIX seconds: 0 means deliver now or never; <see langword="null"/> omits the header
    /// (APNs then stores the notification once).
    /// </summary>
    public long? Expiration { get; init; }

    /// <summary><c>apns-id</c>: one per delivery, kept across retries so APNs and the device can recognise it.</summary>
    public Guid ApnsId { get; init; } = Guid.NewGuid();

    /// <summary><c>apns-collapse-id</c>, at most 64 bytes; <see langword="null"/> omits the header.</summary>
    public string? CollapseId { get; init; }

    /// <summary>The UTF-8 JSON payload, at most <see cref="ApnsHeaders.MaxPayloadBytes"/> bytes.</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }
}
