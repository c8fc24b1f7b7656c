using System.Diagnostics;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Apns.Tests;

/// <summary>Load-bearing tests of the client's connections; they run alone so their timings mean something.</summary>
[CollectionDefinition(nameof(LoadTests), DisableParallelization = true)]
public sealed class LoadTests : ICollectionFixture<MockApnsFixture>;

/// <summary>The client's connections: resets, GOAWAY, the one-stream rule, deadlines.</summary>
[Collection(nameof(LoadTests))]
public sealed class ConnectionTests(MockApnsFixture apns, ITestOutputHelper output)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(MockApnsFault.ResetConnection, false)]
    [InlineData(MockApnsFault.GoAway, false)]
    [InlineData(MockApnsFault.RefuseStream, false)]
    [InlineData(MockApnsFault.ResetConnection, true)]
    [InlineData(MockApnsFault.GoAway, true)]
    public async Task FaultsMidLoadLoseNoSendAndLeaveNoneHanging(MockApnsFault fault, bool oneStreamRule)
    {
        await using var mock = await apns.StartMockAsync(o => o.EnforceOneStreamRule = oneStreamRule);
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = RequestTimeout);
        var notifications = Enumerable.Range(0, 2000).Select(_ => TestNotifications.For()).ToArray();
        mock.InjectFaultEvery(97, fault);
        var clock = Stopwatch.StartNew();

        var results = await TestNotifications.SendAllAsync(client, notifications, concurrency: 64);

        var accepted = results.Where(r => r.Response is not null).ToArray();
        var failed = results.Where(r => r.Failure is not null).ToArray();
        Assert.All(accepted, r => Assert.True(r.Response!.IsAccepted, $"{r.Response.StatusCode} {r.Response.ReasonText}"));
        Assert.Equal(notifications.Length, accepted.Length + failed.Length);
        var recorded = mock.Notifications.Select(n => n.ApnsId).ToHashSet(StringComparer.Ordinal);
        Assert.All(accepted, r => Assert.Contains(r.Notification.ApnsId.ToString("D"), recorded));
        Assert.All(results, r => Assert.True(
            r.Elapsed < RequestTimeout + TimeSpan.FromSeconds(1), $"A send took {r.Elapsed}."));
        Assert.True(accepted.Length > notifications.Length / 2, $"Only {accepted.Length} accepted.");
        var counters = mock.Counters;
        output.WriteLine(
            $"{fault}: {accepted.Length} accepted, {failed.Length} ApnsException ({failed.Count(r => r.Failure!.IsTimeout)} timeouts), " +
            $"slowest {results.Max(r => r.Elapsed).TotalMilliseconds:F0} ms; mock: {counters.Requests} requests, " +
            $"{counters.ConnectionsOpened} connections, {counters.ConnectionsReset} resets, {counters.GoAwaysSent} GOAWAYs, " +
            $"{counters.StreamsReset} streams reset, {counters.RefusedStreams} refused by the one-stream rule, in {clock.Elapsed.TotalSeconds:F1} s.");
        Assert.True(counters.ConnectionsReset + counters.GoAwaysSent + counters.StreamsReset > 0, "No fault was injected.");

        // However often APNs drops connections, each of the two slots reconnects at most once a second.
        Assert.InRange(counters.ConnectionsOpened, 2, 2 * ((int)Math.Ceiling(clock.Elapsed.TotalSeconds) + 1));
    }

    [Fact]
    public async Task ColdBurstUnderTheOneStreamRuleIsAllAcceptedWithNoStreamRefused()
    {
        await using var mock = await apns.StartMockAsync(o => o.EnforceOneStreamRule = true);
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = RequestTimeout);
        var notifications = Enumerable.Range(0, 2000).Select(_ => TestNotifications.For()).ToArray();

        var results = await TestNotifications.SendAllAsync(client, notifications, concurrency: 100);

        Assert.All(results, r => Assert.True(r.Response?.IsAccepted, r.Failure?.Message ?? r.Response?.ReasonText));
        Assert.Equal(2000, mock.Counters.Accepted);
        Assert.Equal(0, mock.Counters.RefusedStreams);
    }

    [Fact]
    public async Task ApnsSlowerThanTheDeadlineThrowsATimeoutWithoutHanging()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Delay(TimeSpan.FromSeconds(10)));
        var started = Stopwatch.GetTimestamp();

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(notification));

        Assert.True(failure.IsTimeout);
        Assert.InRange(Stopwatch.GetElapsedTime(started), TimeSpan.FromMilliseconds(450), TimeSpan.FromSeconds(2));
        Assert.Empty(mock.Notifications);
    }

    [Fact]
    public async Task TooManyProviderTokenUpdatesIsARejectionAndReplacesTheConnection()
    {
        // The client itself never changes tokens that fast (see ProviderTokenTests): APNs's answer is scripted.
        await using var mock = await apns.StartMockAsync(o => o.EnforceTokenUpdateRate = true);
        using var client = apns.CreateClient(mock, configure: o => o.ConnectionsPerEndpoint = 1);
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var firstConnection = Assert.Single(mock.Notifications).ConnectionId;
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(429, ApnsReasons.TooManyProviderTokenUpdates).Times(1));

        var response = await client.SendAsync(notification);

        Assert.Equal(429, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.TooManyProviderTokenUpdates, response.Reason);
        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(2, mock.Counters.Requests);
        var next = TestNotifications.For();
        Assert.True((await client.SendAsync(next)).IsAccepted);
        Assert.NotEqual(firstConnection, Assert.Single(mock.NotificationsFor(next.DeviceToken)).ConnectionId);
        Assert.Equal(2, mock.Counters.ConnectionsOpened);
        Assert.Equal(1, client.ProviderToken.MintedCount);
    }
}
