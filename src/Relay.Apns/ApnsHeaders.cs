namespace Relay.Apns;

/// <summary>The header names of an APNs request and response, as Apple spells them.</summary>
public static class ApnsHeaders
{
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
}
