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

/// <summary>The words an <see cref="ApnsEnvironment"/> is written as wherever it leaves the process: <c>production</c>, <c>sandbox</c>.</summary>
public static class ApnsEnvironments
{
    /// <summary><c>production</c> or <c>sandbox</c>.</summary>
    public static string ToText(this ApnsEnvironment environment) => environment switch
    {
        ApnsEnvironment.Production => "production",
        ApnsEnvironment.Sandbox => "sandbox",
        _ => throw new ArgumentOutOfRangeException(nameof(environment), environment, null),
    };

    /// <summary>The environment <paramref name="text"/> names.</summary>
    /// <exception cref="FormatException"><paramref name="text"/> is neither <c>production</c> nor <c>sandbox</c>.</exception>
    public static ApnsEnvironment Parse(string? text) =>
        TryParse(text, out var environment) ? environment : throw new FormatException("An APNs environment is \"production\" or \"sandbox\".");

    /// <summary>The environment <paramref name="text"/> names, exactly <c>production</c> or <c>sandbox</c>.</summary>
    public static bool TryParse(string? text, out ApnsEnvironment environment)
    {
        switch (text)
        {
            case "production":
                environment = ApnsEnvironment.Production;
                return true;
            case "sandbox":
                environment = ApnsEnvironment.Sandbox;
                return true;
            default:
                environment = default;
                return false;
        }
    }
}
