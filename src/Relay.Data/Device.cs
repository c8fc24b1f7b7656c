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

    /// <summary>The length of an X25519 public key, the only size <see cref="PublicKey"/> may have.</summary>
    public const int PublicKeyLength = 32;

    /// <summary>The length of the Ed25519 <see cref="PublicKeySignature"/>.</summary>
    public const int PublicKeySignatureLength = 64;

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

    /// <summary>
    /// The X25519 public key the device published for senders to encrypt to, if any. It lives and dies with the
    /// device: a token that moves to another account becomes a new device without it.
    /// </summary>
    public byte[]? PublicKey { get; set; }

    /// <summary>
    /// The account identity key's Ed25519 signature of <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>;
    /// set with <see cref="PublicKey"/> and only with it.
    /// </summary>
    public byte[]? PublicKeySignature { get; set; }
}
