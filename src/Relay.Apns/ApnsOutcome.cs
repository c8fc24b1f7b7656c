namespace Relay.Apns;

/// <summary>
/// What an APNs answer means for the sender, so callers decide without comparing reason strings.
/// </summary>
public enum ApnsOutcome
{
    /// <summary>200: APNs accepted the notification.</summary>
    Accepted,

    /// <summary>400 BadDeviceToken or DeviceTokenNotForTopic: the token is dead; never send to it again.</summary>
    DeviceTokenInvalid,

    /// <summary>
    /// 410 Unregistered or ExpiredToken: the token is dead unless it was registered again after
    /// <see cref="ApnsResponse.TokenInvalidatedAt"/>.
    /// </summary>
    DeviceTokenUnregistered,

    /// <summary>429 TooManyRequests, 500, 503 and the like: try again later, with backoff, on a fresh connection.</summary>
    RetryLater,

    /// <summary>
    /// The provider's setup is wrong (bad or unrelated key, forbidden, topic not allowed): nothing sent with this
    /// configuration will succeed; an operator must act.
    /// </summary>
    ConfigurationFault,

    /// <summary>Any other rejection: the notification failed and retrying it will not help.</summary>
    Failed,
}

/// <summary>Maps an APNs answer to its <see cref="ApnsOutcome"/>.</summary>
public static class ApnsOutcomes
{
    /// <summary>The outcome of an answer with this status and reason.</summary>
    public static ApnsOutcome Classify(int statusCode, ApnsRejectionReason reason)
    {
        if (statusCode == 200)
        {
            return ApnsOutcome.Accepted;
        }

        return reason switch
        {
            ApnsRejectionReason.BadDeviceToken or ApnsRejectionReason.DeviceTokenNotForTopic => ApnsOutcome.DeviceTokenInvalid,
            ApnsRejectionReason.Unregistered or ApnsRejectionReason.ExpiredToken => ApnsOutcome.DeviceTokenUnregistered,
            ApnsRejectionReason.InvalidProviderToken or ApnsRejectionReason.MissingProviderToken
                or ApnsRejectionReason.Forbidden or ApnsRejectionReason.BadEnvironmentKeyIdInToken
                or ApnsRejectionReason.BadCertificate or ApnsRejectionReason.BadCertificateEnvironment
                or ApnsRejectionReason.BadTopic or ApnsRejectionReason.TopicDisallowed => ApnsOutcome.ConfigurationFault,
            ApnsRejectionReason.TooManyRequests or ApnsRejectionReason.InternalServerError
                or ApnsRejectionReason.ServiceUnavailable or ApnsRejectionReason.Shutdown
                or ApnsRejectionReason.IdleTimeout or ApnsRejectionReason.UnrelatedKeyIdInToken
                or ApnsRejectionReason.TooManyProviderTokenUpdates or ApnsRejectionReason.ExpiredProviderToken => ApnsOutcome.RetryLater,
            _ when statusCode is 410 => ApnsOutcome.DeviceTokenUnregistered,
            _ when statusCode >= 500 || statusCode == 429 => ApnsOutcome.RetryLater,
            _ => ApnsOutcome.Failed,
        };
    }
}
