namespace Relay.Apns;

/// <summary>
/// The value of the <c>apns-push-type</c> header. The relay only sends <see cref="Alert"/>; the others exist so the
/// header is never a free-form string.
/// </summary>
public enum ApnsPushType
{
    /// <summary><c>alert</c>: a notification that shows an alert, plays a sound or badges the icon (a Notification Service Extension may rewrite it).</summary>
    Alert,

    /// <summary><c>background</c>: content-available only.</summary>
    Background,

    /// <summary><c>voip</c>: a PushKit VoIP push (the topic ends in <c>.voip</c>).</summary>
    Voip,
}

internal static class ApnsPushTypeExtensions
{
    public static string ToHeaderValue(this ApnsPushType pushType) => pushType switch
    {
        ApnsPushType.Alert => "alert",
        ApnsPushType.Background => "background",
        ApnsPushType.Voip => "voip",
        _ => throw new ArgumentOutOfRangeException(nameof(pushType), pushType, "Unknown APNs push type."),
    };
}
