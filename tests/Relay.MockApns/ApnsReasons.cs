namespace Relay.MockApns;

/// <summary>
/// The <c>reason</c> strings APNs puts in an error response body, exactly as Apple spells them
/// (<see href="https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns"/>).
/// </summary>
public static class ApnsReasons
{
    /// <summary>400: the collapse identifier exceeds the maximum allowed size.</summary>
    public const string BadCollapseId = "BadCollapseId";
    /// <summary>400: the specified device token is invalid.</summary>
    public const string BadDeviceToken = "BadDeviceToken";
    /// <summary>400: the <c>apns-expiration</c> value is invalid.</summary>
    public const string BadExpirationDate = "BadExpirationDate";
    /// <summary>400: the <c>apns-id</c> value is invalid.</summary>
    public const string BadMessageId = "BadMessageId";
    /// <summary>400: the <c>apns-priority</c> value is invalid.</summary>
    public const string BadPriority = "BadPriority";
    /// <summary>400: the <c>apns-topic</c> value is invalid.</summary>
    public const string BadTopic = "BadTopic";
    /// <summary>400: the device token doesn't match the specified topic.</summary>
    public const string DeviceTokenNotForTopic = "DeviceTokenNotForTopic";
    /// <summary>400: one or more headers are repeated.</summary>
    public const string DuplicateHeaders = "DuplicateHeaders";
    /// <summary>400: idle timeout.</summary>
    public const string IdleTimeout = "IdleTimeout";
    /// <summary>400: the <c>apns-push-type</c> value is invalid.</summary>
    public const string InvalidPushType = "InvalidPushType";
    /// <summary>400: the device token isn't specified in the request path.</summary>
    public const string MissingDeviceToken = "MissingDeviceToken";
    /// <summary>400: the <c>apns-topic</c> header is missing and required.</summary>
    public const string MissingTopic = "MissingTopic";
    /// <summary>400: the message payload is empty.</summary>
    public const string PayloadEmpty = "PayloadEmpty";
    /// <summary>400: pushing to this topic is not allowed.</summary>
    public const string TopicDisallowed = "TopicDisallowed";
    /// <summary>403: the certificate is invalid.</summary>
    public const string BadCertificate = "BadCertificate";
    /// <summary>403: the client certificate is for the wrong environment.</summary>
    public const string BadCertificateEnvironment = "BadCertificateEnvironment";
    /// <summary>403: the provider token is stale and a new token should be generated.</summary>
    public const string ExpiredProviderToken = "ExpiredProviderToken";
    /// <summary>403: the specified action is not allowed.</summary>
    public const string Forbidden = "Forbidden";
    /// <summary>403: the provider token is not valid, or the token signature can't be verified.</summary>
    public const string InvalidProviderToken = "InvalidProviderToken";
    /// <summary>403: no provider certificate was used and the authorization header is missing or empty.</summary>
    public const string MissingProviderToken = "MissingProviderToken";
    /// <summary>403: the key ID in the provider token isn't related to the key ID of the token used in the first push of this connection.</summary>
    public const string UnrelatedKeyIdInToken = "UnrelatedKeyIdInToken";
    /// <summary>403: the key ID in the provider token doesn't match the environment.</summary>
    public const string BadEnvironmentKeyIdInToken = "BadEnvironmentKeyIdInToken";
    /// <summary>404: the request contained an invalid <c>:path</c> value.</summary>
    public const string BadPath = "BadPath";
    /// <summary>405: the specified <c>:method</c> value isn't POST.</summary>
    public const string MethodNotAllowed = "MethodNotAllowed";
    /// <summary>410: the device token has expired.</summary>
    public const string ExpiredToken = "ExpiredToken";
    /// <summary>410: the device token is inactive for the specified topic.</summary>
    public const string Unregistered = "Unregistered";
    /// <summary>413: the message payload is too large.</summary>
    public const string PayloadTooLarge = "PayloadTooLarge";
    /// <summary>429: the provider's authentication token is being updated too often.</summary>
    public const string TooManyProviderTokenUpdates = "TooManyProviderTokenUpdates";
    /// <summary>429: too many requests were made consecutively to the same device token.</summary>
    public const string TooManyRequests = "TooManyRequests";
    /// <summary>500: an internal server error occurred.</summary>
    public const string InternalServerError = "InternalServerError";
    /// <summary>503: the service is unavailable.</summary>
    public const string ServiceUnavailable = "ServiceUnavailable";
    /// <summary>503: the APNs server is shutting down.</summary>
    public const string Shutdown = "Shutdown";
}
