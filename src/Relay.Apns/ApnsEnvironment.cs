namespace Relay.Apns;

/// <summary>
/// The APNs environment a device token belongs to. A token issued to a development build only works against the
/// sandbox; see <see href="https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns">Sending notification requests to APNs</see>.
/// </summary>
public enum ApnsEnvironment
{
    /// <summary><c>api.push.apple.com</c>: apps from the App Store, TestFlight and ad-hoc builds.</summary>
    Production,

    /// <summary><c>api.sandbox.push.apple.com</c>: development builds.</summary>
    Sandbox,
}
