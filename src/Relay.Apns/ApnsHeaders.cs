using System.Buffers;

namespace Relay.Apns;

/// <summary>
/// The header names of an APNs request and response, as Apple spells them, and the rules for the values that come
/// from outside (collapse id, device token, topic): one home for them, so an API can refuse what the client would.
/// </summary>
public static class ApnsHeaders
{
    private static readonly SearchValues<char> VisibleAscii = SearchValues.Create(
        Enumerable.Range(0x21, 0x7E - 0x21 + 1).Select(c => (char)c).ToArray());

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary><c>authorization</c>: <c>bearer {provider token}</c>.</summary>
    public const string Authorization = "authorization";

    /// <summary><c>apns-push-type</c>.</summary>
    public const string PushType = "apns-push-type";

    /// <summary><c>apns-topic</c>: the app's bundle id.</summary>
    public const string Topic = "apns-topic";

    /// <summary><c>apns-priority</c>: 10, 5 or 1.</summary>
    public const string Priority = "apns-priority";

    /// <summary><c>apns-expiration</c>: UNIX seconds, 0 for deliver-now-or-never.</summary>
    public const string Expiration = "apns-expiration";

    /// <summary><c>apns-id</c>: a lower-case UUID naming the notification; echoed by APNs.</summary>
    public const string Id = "apns-id";

    /// <summary><c>apns-collapse-id</c>: at most 64 bytes.</summary>
    public const string CollapseId = "apns-collapse-id";

    /// <summary>The request path prefix: <c>/3/device/{token}</c>.</summary>
    public const string DevicePath = "/3/device/";

    /// <summary>The largest payload APNs accepts for an alert notification, in bytes.</summary>
    public const int MaxPayloadBytes = 4096;

    /// <summary>The largest <c>apns-collapse-id</c>, in bytes.</summary>
    public const int MaxCollapseIdBytes = 64;

    /// <summary>The fewest hex digits of a device token (16 bytes).</summary>
    public const int MinDeviceTokenLength = 32;

    /// <summary>The most hex digits of a device token (256 bytes; Apple's tokens are 32 bytes today but may grow).</summary>
    public const int MaxDeviceTokenLength = 512;

    /// <summary>The longest <c>apns-topic</c> accepted, in characters.</summary>
    public const int MaxTopicLength = 255;

    /// <summary><c>retry-after</c>: seconds or an HTTP date, sometimes sent with a 429 or 503.</summary>
    public const string RetryAfter = "retry-after";

    /// <summary>
    /// Whether <paramref name="collapseId"/> can be sent as <c>apns-collapse-id</c>: 1 to
    /// <see cref="MaxCollapseIdBytes"/> visible ASCII characters (0x21 to 0x7E). No space, control character, CR, LF,
    /// NUL or non-ASCII character, which an HTTP/2 header cannot carry safely.
    /// </summary>
    public static bool IsValidCollapseId(string? collapseId) =>
        collapseId is { Length: > 0 and <= MaxCollapseIdBytes } && !collapseId.AsSpan().ContainsAnyExcept(VisibleAscii);

    /// <summary>
    /// Whether <paramref name="deviceToken"/> is a device token in hex: an even number of hex digits (any case),
    /// <see cref="MinDeviceTokenLength"/> to <see cref="MaxDeviceTokenLength"/> of them.
    /// </summary>
    public static bool IsValidDeviceToken(string? deviceToken) =>
        deviceToken is { Length: >= MinDeviceTokenLength and <= MaxDeviceTokenLength } && deviceToken.Length % 2 == 0
        && !deviceToken.AsSpan().ContainsAnyExcept(HexDigits);

    /// <summary>Whether <paramref name="topic"/> can be sent as <c>apns-topic</c>: 1 to 255 visible ASCII characters.</summary>
    public static bool IsValidTopic(string? topic) =>
        topic is { Length: > 0 and <= MaxTopicLength } && !topic.AsSpan().ContainsAnyExcept(VisibleAscii);
}
