namespace Relay.Apns;

/// <summary>
/// The <c>reason</c> APNs gives when it rejects a notification, as listed in Apple's
/// <see href="https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns">Handling notification responses from APNs</see>.
/// A reason this library does not know is <see cref="Unknown"/>; the raw text stays on <see cref="ApnsResponse.ReasonText"/>.
/// </summary>
public enum ApnsRejectionReason
{
    /// <summary>A reason this library does not know.</summary>
    Unknown = 0,

    /// <summary>400: the collapse identifier exceeds 64 bytes.</summary>
    BadCollapseId,

    /// <summary>400: the device token is invalid for this environment or malformed. The token is dead.</summary>
    BadDeviceToken,

    /// <summary>400: the <c>apns-expiration</c> value is invalid.</summary>
    BadExpirationDate,

    /// <summary>400: the <c>apns-id</c> value is invalid.</summary>
    BadMessageId,

    /// <summary>400: the <c>apns-priority</c> value is invalid.</summary>
    BadPriority,

    /// <summary>400: the <c>apns-topic</c> value is invalid.</summary>
    BadTopic,

    /// <summary>400: the device token does not match the topic. The token is dead for this topic.</summary>
    DeviceTokenNotForTopic,

    /// <summary>400: one or more headers were repeated.</summary>
    DuplicateHeaders,

    /// <summary>400: the connection was idle too long; use a fresh one.</summary>
    IdleTimeout,

    /// <summary>400: the <c>apns-push-type</c> value is invalid.</summary>
    InvalidPushType,

    /// <summary>400: no device token in the path.</summary>
    MissingDeviceToken,

    /// <summary>400: no <c>apns-topic</c> header although one is required.</summary>
    MissingTopic,

    /// <summary>400: the payload is empty.</summary>
    PayloadEmpty,

    /// <summary>400: pushing to this topic is not allowed.</summary>
    TopicDisallowed,

    /// <summary>403: the certificate is invalid.</summary>
    BadCertificate,

    /// <summary>403: the certificate is for the other environment.</summary>
    BadCertificateEnvironment,

    /// <summary>403: the provider token is stale; renew it.</summary>
    ExpiredProviderToken,

    /// <summary>403: the action is not allowed.</summary>
    Forbidden,

    /// <summary>403: the provider token is not valid or its signature could not be verified.</summary>
    InvalidProviderToken,

    /// <summary>403: no provider certificate and no provider token.</summary>
    MissingProviderToken,

    /// <summary>403: the key id in the token is unrelated to the connection's team.</summary>
    UnrelatedKeyIdInToken,

    /// <summary>403: the key id in the token is for the other environment.</summary>
    BadEnvironmentKeyIdInToken,

    /// <summary>404: the request path is wrong.</summary>
    BadPath,

    /// <summary>405: only POST is supported.</summary>
    MethodNotAllowed,

    /// <summary>410: the device token has expired.</summary>
    ExpiredToken,

    /// <summary>410: the device token is no longer active for the topic (the app was removed).</summary>
    Unregistered,

    /// <summary>413: the payload is too large.</summary>
    PayloadTooLarge,

    /// <summary>429: the provider token was updated too often (more than once in 20 minutes).</summary>
    TooManyProviderTokenUpdates,

    /// <summary>429: too many requests to the same device token.</summary>
    TooManyRequests,

    /// <summary>500: an internal server error.</summary>
    InternalServerError,

    /// <summary>503: the service is unavailable.</summary>
    ServiceUnavailable,

    /// <summary>503: the APNs server is shutting down.</summary>
    Shutdown,
}

/// <summary>Parses Apple's reason strings without allocating for the known ones.</summary>
public static class ApnsRejectionReasons
{
    private static readonly Dictionary<string, ApnsRejectionReason> ByName =
        Enum.GetValues<ApnsRejectionReason>()
            .Where(r => r != ApnsRejectionReason.Unknown)
            .ToDictionary(r => r.ToString(), StringComparer.Ordinal);

    /// <summary>The reason named by Apple's string, or <see cref="ApnsRejectionReason.Unknown"/>.</summary>
    public static ApnsRejectionReason Parse(string? reason) =>
        reason is not null && ByName.TryGetValue(reason, out var value) ? value : ApnsRejectionReason.Unknown;
}
