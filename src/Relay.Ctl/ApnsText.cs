using System.Globalization;
using Relay.Apns;

namespace Relay.Ctl;

/// <summary>APNs answers and failures in words an operator can act on.</summary>
internal static class ApnsText
{
    /// <summary><c>200</c>, <c>400 BadDeviceToken</c>.</summary>
    public static string Answer(ApnsResponse response) =>
        response.ReasonText is { } reason
            ? string.Create(CultureInfo.InvariantCulture, $"{response.StatusCode} {reason}")
            : response.StatusCode.ToString(CultureInfo.InvariantCulture);

    /// <summary>Why no answer came: the transport's error name, or the deadline.</summary>
    public static string NoAnswer(ApnsException e, ApnsOptions options) => e switch
    {
        { IsTimeout: true } => $"no answer within {options.RequestTimeout}",
        { InnerException: HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError } } =>
            "SecureConnectionError: TLS failed; a mock or staging APNs needs Apns:TrustedCaPath",
        { InnerException: HttpRequestException { HttpRequestError: HttpRequestError.VersionNegotiationError } } =>
            "VersionNegotiationError: the endpoint does not speak HTTP/2",
        { InnerException: HttpRequestException h } => h.HttpRequestError.ToString(),
        { InnerException: { } inner } => inner.GetType().Name,
        _ => "no answer",
    };

    /// <summary>What a rejection that is the provider's fault means.</summary>
    public static string Meaning(ApnsResponse response, string topic) => response.Reason switch
    {
        ApnsRejectionReason.InvalidProviderToken => "the key, Apns:KeyId or Apns:TeamId is wrong",
        ApnsRejectionReason.ExpiredProviderToken => "the provider token's time is off: check this machine's clock",
        ApnsRejectionReason.BadEnvironmentKeyIdInToken => "the key is not enabled for this environment",
        ApnsRejectionReason.Forbidden => "the key may not send this (revoked, or not an APNs key)",
        ApnsRejectionReason.MissingProviderToken => "no provider token reached APNs",
        ApnsRejectionReason.TopicDisallowed or ApnsRejectionReason.BadTopic => $"topic {topic} is not allowed for this key and team",
        ApnsRejectionReason.TooManyProviderTokenUpdates => "the provider token changed too often",
        _ when response.StatusCode >= 500 => "APNs is unavailable; try again later",
        _ => "the request was refused",
    };
}
