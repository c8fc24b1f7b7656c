namespace Relay.Apns;

/// <summary>
/// One notification for one device: every header of an APNs request and the payload bytes. Build the payload with
/// <see cref="ApnsPayload"/>. Keep the instance (and so its <see cref="ApnsId"/>) when sending the same delivery again.
/// </summary>
/// <remarks>
/// <see cref="ApnsClient.SendAsync"/> checks the values that become headers or the path before anything is sent
/// (<see cref="ApnsHeaders.IsValidDeviceToken"/>, <see cref="ApnsHeaders.IsValidTopic"/>,
/// <see cref="ApnsHeaders.IsValidCollapseId"/>) and throws <see cref="ArgumentException"/> for a bad one: such a
/// notification is a defect of the caller, never a reason to touch a connection.
/// </remarks>
public sealed class ApnsNotification
{
    /// <summary>The device token, in hex as the device reported it (see <see cref="ApnsHeaders.IsValidDeviceToken"/>).</summary>
    public required string DeviceToken { get; init; }

    /// <summary>The app's bundle id, sent as <c>apns-topic</c> (see <see cref="ApnsHeaders.IsValidTopic"/>).</summary>
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

    /// <summary>
    /// <c>apns-collapse-id</c>: 1 to 64 visible ASCII characters (see <see cref="ApnsHeaders.IsValidCollapseId"/>);
    /// <see langword="null"/> omits the header.
    /// </summary>
    public string? CollapseId { get; init; }

    /// <summary>The UTF-8 JSON payload, at most <see cref="ApnsHeaders.MaxPayloadBytes"/> bytes.</summary>
    public required ReadOnlyMemory<byte> Payload { get; init; }

    /// <summary>Throws when a value could not be sent as it is. The messages never hold the values (they may be private).</summary>
    /// <exception cref="ArgumentException">A payload, device token, topic or collapse id APNs cannot take.</exception>
    internal void Validate(string paramName)
    {
        if (Payload.Length is 0 or > ApnsHeaders.MaxPayloadBytes)
        {
            throw new ArgumentException($"The payload is {Payload.Length} bytes; APNs takes 1 to {ApnsHeaders.MaxPayloadBytes}.", paramName);
        }

        if (!ApnsHeaders.IsValidDeviceToken(DeviceToken))
        {
            throw new ArgumentException(
                $"The device token must be an even number of hex digits, {ApnsHeaders.MinDeviceTokenLength} to {ApnsHeaders.MaxDeviceTokenLength}.", paramName);
        }

        if (!ApnsHeaders.IsValidTopic(Topic))
        {
            throw new ArgumentException($"The topic must be 1 to {ApnsHeaders.MaxTopicLength} visible ASCII characters.", paramName);
        }

        if (CollapseId is not null && !ApnsHeaders.IsValidCollapseId(CollapseId))
        {
            throw new ArgumentException(
                $"The collapse id must be 1 to {ApnsHeaders.MaxCollapseIdBytes} visible ASCII characters (0x21 to 0x7E).", paramName);
        }
    }
}
