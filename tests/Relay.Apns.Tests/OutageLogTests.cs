using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>
/// An APNs outage or configuration fault shows at the default level as one line per pool and minute, with
/// counts; each push stays at Debug.
/// </summary>
public sealed class OutageLogTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task OutageLogsOneWarningAMinutePerPoolWithCountsAndEachPushAtDebug()
    {
        using var logs = new LogCapture();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, timeProvider: clock, logger: logs.CreateLogger<ApnsClient>());
        mock.InjectFaultEvery(1, MockApnsFault.ServiceUnavailable);

        await SendAsync(client, 40);
        var first = Assert.Single(Loud(logs));
        clock.Advance(TimeSpan.FromSeconds(30));
        await SendAsync(client, 40);
        var withinTheMinute = Loud(logs).Count;
        clock.Advance(TimeSpan.FromSeconds(31));
        await SendAsync(client, 40);

        Assert.Equal(LogLevel.Warning, first.Level);
        Assert.Equal("Production", Property(first, "Environment"));
        Assert.Equal("10", Property(first, "Failed"));
        Assert.Equal("10", Property(first, "Attempts"));
        Assert.Equal("10", Property(first, "RetryLater"));
        Assert.Equal(ApnsReasons.ServiceUnavailable, Property(first, "LastFailure"));
        Assert.Equal(1, withinTheMinute);
        Assert.Equal(2, Loud(logs).Count);
        Assert.Equal(120, logs.Entries.Count(e => e.Level == LogLevel.Debug && e.Message.StartsWith("APNs rejected", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ConfigurationFaultLogsOneErrorForThePool()
    {
        using var logs = new LogCapture();
        await using var mock = await apns.StartMockAsync(o => o.KeyId = "OTHERKEY01");
        using var client = apns.CreateClient(mock, logger: logs.CreateLogger<ApnsClient>());

        await SendAsync(client, 30);

        var error = Assert.Single(Loud(logs));
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Equal("10", Property(error, "ConfigurationFaults"));
        Assert.Equal(ApnsReasons.InvalidProviderToken, Property(error, "LastFailure"));
    }

    [Fact]
    public async Task SendsWithoutAnAnswerCountAsAnOutage()
    {
        using var logs = new LogCapture();
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, logger: logs.CreateLogger<ApnsClient>(),
            configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        mock.InjectFaultEvery(1, MockApnsBehavior.ResetStream(0x2));

        await SendAsync(client, 12);

        var warning = Assert.Single(Loud(logs));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal("10", Property(warning, "NoAnswer"));
    }

    [Fact]
    public async Task FailuresBelowHalfOfTheSendsAndDeadDeviceTokensLogNothingAboveDebug()
    {
        using var logs = new LogCapture();
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, logger: logs.CreateLogger<ApnsClient>());
        mock.InjectFaultEvery(3, MockApnsFault.ServiceUnavailable);
        var dead = Enumerable.Range(0, 20).Select(_ => TestNotifications.For()).ToArray();
        foreach (var notification in dead)
        {
            mock.Script(notification.DeviceToken, MockApnsBehavior.Unregistered());
        }

        await SendAsync(client, 60);
        foreach (var notification in dead)
        {
            await client.SendAsync(notification);
        }

        Assert.Empty(Loud(logs));
        Assert.True(mock.Counters.RejectedFor(ApnsReasons.ServiceUnavailable) >= 20);
    }

    private static async Task SendAsync(ApnsClient client, int count)
    {
        for (var i = 0; i < count; i++)
        {
            try
            {
                await client.SendAsync(TestNotifications.For());
            }
            catch (ApnsException)
            {
                // Counted by the pool like any other failure.
            }
        }
    }

    private static List<CapturedLog> Loud(LogCapture logs) => [.. logs.Entries.Where(e => e.Level >= LogLevel.Warning)];

    private static string? Property(CapturedLog entry, string name) => entry.Properties.Single(p => p.Key == name).Value;
}
