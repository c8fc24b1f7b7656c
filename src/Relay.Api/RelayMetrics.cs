using System.Diagnostics.Metrics;
using Relay.Data;

namespace Relay.Api;

/// <summary>The relay's own instruments, on the meter <c>Relay.Api</c>.</summary>
public sealed class RelayMetrics
{
    public const string MeterName = "Relay.Api";

    private readonly Counter<long> _messages;
    private readonly Counter<long> _deliveries;
    private readonly Counter<long> _invalidated;
    private readonly Counter<long> _attempts;
    private readonly Counter<long> _held;
    private readonly Counter<long> _takenOver;
    private readonly Counter<long> _inboxDropped;
    private readonly Histogram<int> _batch;
    private long _due;
    private double _oldestDueSeconds;

    public RelayMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _messages = meter.CreateCounter<long>("relay.messages.accepted", "{message}", "Messages accepted for delivery.");
        _deliveries = meter.CreateCounter<long>("relay.deliveries", "{delivery}", "Deliveries to devices by status and APNs reason.");
        _invalidated = meter.CreateCounter<long>("relay.devices.invalidated", "{device}", "Devices marked invalid after APNs's answer, by reason.");
        _attempts = meter.CreateCounter<long>("relay.delivery.attempts", "{attempt}", "APNs attempts by the delivery's resulting status and APNs reason.");
        _held = meter.CreateCounter<long>("relay.delivery.attempts.held", "{attempt}", "Attempts held back while APNs was failing.");
        _takenOver = meter.CreateCounter<long>("relay.delivery.leases.taken_over", "{delivery}", "Deliveries taken over after another instance's lease ran out.");
        _inboxDropped = meter.CreateCounter<long>("relay.inbox.dropped", "{message}", "Messages dropped from full inboxes, oldest first.");
        _batch = meter.CreateHistogram<int>("relay.db.batch.size", "{item}",
            "Items one batched PostgreSQL statement served, by stage: recipient lookups (accounts), message commits (messages) and result writes (deliveries).",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048] });
        meter.CreateObservableGauge("relay.delivery.due", () => Volatile.Read(ref _due), "{delivery}", "Deliveries due and waiting for an attempt.");
        meter.CreateObservableGauge("relay.delivery.oldest_due_age", () => Volatile.Read(ref _oldestDueSeconds), "s", "How long the oldest due delivery has waited.");
    }

    public void MessageAccepted(int recipients) =>
        _messages.Add(1, new KeyValuePair<string, object?>("recipients", recipients == 1 ? "1" : "many"));

    /// <summary>A delivery reached a final status.</summary>
    public void Delivery(DeliveryStatus status, string? reason) =>
        _deliveries.Add(1, new KeyValuePair<string, object?>("status", status.ToText()), new KeyValuePair<string, object?>("reason", reason ?? "none"));

    public void Attempt(DeliveryStatus status, string? reason) =>
        _attempts.Add(1, new KeyValuePair<string, object?>("status", status.ToText()), new KeyValuePair<string, object?>("reason", reason ?? "none"));

    public void AttemptHeld() => _held.Add(1);

    /// <summary>One batched statement of <paramref name="stage"/> (<c>lookup</c>, <c>intake</c>, <c>write</c>) served <paramref name="items"/>.</summary>
    public void Batch(string stage, int items) => _batch.Record(items, new KeyValuePair<string, object?>("stage", stage));

    public void LeasesTakenOver(int count) => _takenOver.Add(count);

    public void Backlog(long due, TimeSpan oldestAge)
    {
        Volatile.Write(ref _due, due);
        Volatile.Write(ref _oldestDueSeconds, oldestAge.TotalSeconds);
    }

    public void InboxDropped(int count)
    {
        if (count > 0)
        {
            _inboxDropped.Add(count);
        }
    }

    public void DeviceInvalidated(string reason) =>
        _invalidated.Add(1, new KeyValuePair<string, object?>("reason", reason));
}
