using System.Text;

namespace Relay.MockApns;

/// <summary>A notification the mock accepted (answered 200).</summary>
public sealed record MockApnsNotification
{
    /// <summary>The device token from the path, as sent.</summary>
    public required string DeviceToken { get; init; }

    /// <summary>The <c>apns-topic</c> header.</summary>
    public required string Topic { get; init; }

    /// <summary>The <c>apns-id</c> the mock answered with (the request's, lower-cased, or a new one).</summary>
    public required string ApnsId { get; init; }

    /// <summary>Every request header whose name starts with <c>apns-</c>.</summary>
    public required IReadOnlyDictionary<string, string> Headers { get; init; }

    /// <summary>
    /// Every request header as Kestrel saw it (HTTP/2 pseudo-headers excepted; <c>:authority</c> shows as <c>Host</c>),
    /// names case-insensitive: what a test checks to prove nothing but APNs's headers arrived.
    /// </summary>
    public IReadOnlyDictionary<string, string> RequestHeaders { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether the request carried an <c>authorization</c> header (always true for an accepted one).</summary>
    public bool HasAuthorization { get; init; }

    /// <summary>The provider token (JWT) the request carried.</summary>
    public required string ProviderToken { get; init; }

    /// <summary>The provider token's <c>iat</c>.</summary>
    public DateTimeOffset ProviderTokenIssuedAt { get; init; }

    /// <summary>The raw body; empty when <see cref="MockApnsOptions.RecordBodies"/> is off.</summary>
    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>The body length in bytes, also when the body was not recorded.</summary>
    public int BodyLength { get; init; }

    /// <summary>The Kestrel connection id: notifications with the same id came over the same HTTP/2 connection.</summary>
    public required string ConnectionId { get; init; }

    /// <summary>When the mock accepted it, by <see cref="MockApnsOptions.TimeProvider"/>.</summary>
    public DateTimeOffset ReceivedAt { get; init; }

    /// <summary>The <c>apns-push-type</c> header.</summary>
    public string? PushType => Headers.GetValueOrDefault("apns-push-type");

    /// <summary>The <c>apns-priority</c> header, if sent.</summary>
    public string? Priority => Headers.GetValueOrDefault("apns-priority");

    /// <summary>The <c>apns-expiration</c> header, if sent.</summary>
    public string? Expiration => Headers.GetValueOrDefault("apns-expiration");

    /// <summary>The <c>apns-collapse-id</c> header, if sent.</summary>
    public string? CollapseId => Headers.GetValueOrDefault("apns-collapse-id");

    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body.Span);
}
