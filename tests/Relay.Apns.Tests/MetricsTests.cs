using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>The client's meter reports every answer by status and reason, and the tokens it signed.</summary>
public sealed class MetricsTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task RequestsAreCountedByStatusAndReason()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var measurements = new ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)>();
        using var listener = new MeterListener
        {
            // Only this test's meter: other tests' clients publish on meters of the same name.
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == ApnsMetrics.MeterName && ReferenceEquals(instrument.Meter.Scope, meterFactory))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
            measurements.Enqueue((instrument.Name, value, ToDictionary(tags))));
        listener.Start();
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(
            mock, metrics: new ApnsMetrics(meterFactory), configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        var rejected = TestNotifications.For();
        mock.Script(rejected.DeviceToken, MockApnsBehavior.BadDeviceToken);
        var slow = TestNotifications.For();
        mock.Script(slow.DeviceToken, MockApnsBehavior.Delay(TimeSpan.FromSeconds(5)));

        await client.SendAsync(TestNotifications.For());
        await client.SendAsync(TestNotifications.For());
        await client.SendAsync(rejected);
        await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(slow));

        var requests = measurements.Where(m => m.Instrument == "apns.client.requests").ToArray();
        Assert.Equal(2, requests.Where(m => Equals(m.Tags["status"], 200) && Equals(m.Tags["reason"], "none")).Sum(m => m.Value));
        Assert.Equal(1, requests.Where(m => Equals(m.Tags["status"], 400) && Equals(m.Tags["reason"], "BadDeviceToken")).Sum(m => m.Value));
        Assert.Equal(1, requests.Where(m => Equals(m.Tags["status"], 0) && Equals(m.Tags["reason"], "timeout")).Sum(m => m.Value));
        Assert.Equal(4, requests.Sum(m => m.Value));
        Assert.Equal(3, measurements.Count(m => m.Instrument == "apns.client.request.duration"));
        Assert.Equal(1, measurements.Where(m => m.Instrument == "apns.client.provider_tokens").Sum(m => m.Value));
        Assert.Equal(0, measurements.Where(m => m.Instrument == "apns.client.requests.in_flight").Sum(m => m.Value));
    }

    private static Dictionary<string, object?> ToDictionary(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var dictionary = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (key, value) in tags)
        {
            dictionary[key] = value;
        }

        return dictionary;
    }
}
