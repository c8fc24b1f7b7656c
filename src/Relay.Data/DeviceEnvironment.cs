namespace Relay.Data;

/// <summary>
/// The APNs environment a device token was issued for; stored as <c>'production'</c> or <c>'sandbox'</c>, the same
/// words the HTTP API uses.
/// </summary>
public enum DeviceEnvironment
{
    /// <summary>Production APNs (App Store, TestFlight and ad-hoc builds); stored as <c>production</c>.</summary>
    Production,

    /// <summary>Sandbox APNs (development builds); stored as <c>sandbox</c>.</summary>
    Sandbox,
}
