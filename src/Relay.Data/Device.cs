using Relay.Apns;

namespace Relay.Data;

/// <summary>An APNs device token registered by an account for one app (topic).</summary>
public sealed class Device
{
    /// <summary>Longest stored token: 256 bytes as hex.</summary>
    public const int TokenMaxLength = ApnsHeaders.MaxDeviceTokenLength;

    /// <summary>Longest stored topic (bundle id).</summary>
    public const int TopicMaxLength = ApnsHeaders.MaxTopicLength;

    /// <summary>Longest stored <see cref="InvalidReason"/>.</summary>
    public const int InvalidReasonMaxLength = 64;

    /// <summary>The device id clients use (<c>deviceId</c>).</summary>
    public Guid Id { get; set; }

    /// <summary>The account the token is registered to; a token registered again by another account moves.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The device token as lower-case hex (16–256 bytes). (Token, Topic) is unique.</summary>
    public required string Token { get; set; }

    /// <summary>The app's bundle id, sent as <c>apns-topic</c>.</summary>
    public required string Topic { get; set; }

    /// <summary>Which APNs endpoint the token belongs to.</summary>
    public ApnsEnvironment Environment { get; set; }

    /// <summary>When the token was last registered (UTC); APNs's 410 timestamp is compared with it.</summary>
    public DateTimeOffset RegisteredAt { get; set; }

    /// <summary>When APNs last accepted a push for this device (UTC).</summary>
    public DateTimeOffset? LastSuccessAt { get; set; }

    /// <summary>When APNs said the token is no longer valid; null while the device is active.</summary>
    public DateTimeOffset? InvalidatedAt { get; set; }

    /// <summary>APNs's reason for the invalidation, such as <c>Unregistered</c>.</summary>
    public string? InvalidReason { get; set; }
}
