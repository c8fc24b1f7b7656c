using System.Diagnostics.Metrics;

namespace Relay.Api;

/// <summary>The relay's own instruments, on the meter <c>Relay.Api</c>.</summary>
public sealed class RelayMetrics
{
    public const string MeterName = "Relay.Api";

    private readonly Counter<long> _messages;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _invalidated;

    public RelayMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _messages = meter.CreateCounter<long>("relay.messages.accepted", "{message}", "Messages accepted for delivery.");
        _deliveries = meter.CreateCounter<long>("relay.deliveries", "{delivery}", "Deliveries to devices by status and APNs reason.");
        _invalidated = meter.CreateCounter<long>("relay.devices.invalidated", "{device}", "Devices marked invalid after APNs's answer, by reason.");
    }

    public void MessageAccepted(int recipients) =>
        _messages.Add(1, new KeyValuePair<string, object?>("recipients", recipients == 1 ? "1" : "many"));

    public void Delivery(string status, string? reason) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", reason ?? "none"));

    public void DeviceInvalidated(string reason) =>
        _invalidated.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
