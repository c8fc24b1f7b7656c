using System.Diagnostics;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Apns.Tests;

/// <summary>
/// Connection care: a reset stream is re-sent without touching its connection, a failed connection is
/// replaced with backoff, and nothing a caller sends makes the client reconnect.
/// </summary>
[Collection(nameof(LoadTests))]
public sealed class ConnectionCareTests(MockApnsFixture apns, ITestOutputHelper output)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(0x2)] // INTERNAL_ERROR
    [InlineData(0x7)] // REFUSED_STREAM
    [InlineData(0x8)] // CANCEL
    public async Task FivePercentOfStreamsResetOverTwoThousandSendsReplaceNoConnection(int errorCode)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = RequestTimeout);
        var notifications = Enumerable.Range(0, 2000).Select(_ => TestNotifications.For()).ToArray();
        mock.InjectFaultEvery(20, MockApnsBehavior.ResetStream(errorCode));

        var results = await TestNotifications.SendAllAsync(client, notifications, concurrency: 64);

        var accepted = results.Count(r => r.Response?.IsAccepted == true);
        var failed = results.Where(r => r.Failure is not null).ToArray();
        var counters = mock.Counters;
        output.WriteLine(
            $"RST_STREAM 0x{errorCode:x} on every 20th request: {accepted} accepted, {failed.Length} ApnsException " +
            $"({string.Join(", ", failed.GroupBy(f => f.Failure!.Failure).Select(g => $"{g.Count()} {g.Key}"))}), " +
            $"slowest {results.Max(r => r.Elapsed).TotalMilliseconds:F0} ms; mock: {counters.Requests} requests, " +
            $"{counters.StreamsReset} streams reset, {counters.ConnectionsOpened} connections opened, {counters.ActiveConnections} open.");
        Assert.Equal(notifications.Length, accepted + failed.Length);
        Assert.All(failed, f => Assert.Equal(ApnsFailure.Stream, f.Failure!.Failure));
        Assert.All(results, r => Assert.True(r.Elapsed < RequestTimeout + TimeSpan.FromSeconds(1), $"A send took {r.Elapsed}."));
        Assert.True(counters.StreamsReset >= notifications.Length / 20, $"Only {counters.StreamsReset} streams were reset.");
        var recorded = mock.Notifications.Select(n => n.ApnsId).ToHashSet(StringComparer.Ordinal);
        Assert.All(results.Where(r => r.Response is not null), r => Assert.Contains(r.Notification.ApnsId.ToString("D"), recorded));

        // The pool's two connections, opened once: a reset stream is no reason to reconnect.
        Assert.Equal(2, counters.ConnectionsOpened);
        Assert.Equal(2, counters.ActiveConnections);
    }

    [Fact]
    public async Task ConnectionResetOnEveryRequestReconnectsAfterOneThenTwoThenFourSeconds()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o =>
        {
            o.ConnectionsPerEndpoint = 1;
            o.RequestTimeout = TimeSpan.FromSeconds(2);
        });
        mock.InjectFaultEvery(1, MockApnsFault.ResetConnection);

        // A steady trickle of sends for 7.5 s, each of which APNs answers by dropping the connection.
        var sends = new List<Task<ApnsFailure>>();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(7.5) && sends.Count < 100)
        {
            sends.Add(FailureOf(client.SendAsync(TestNotifications.For())));
            await Task.Delay(100);
        }

        var failures = await Task.WhenAll(sends);
        var opened = mock.Counters.ConnectionOpenTimes;
        var gaps = opened.Zip(opened.Skip(1), (earlier, later) => later - earlier).ToArray();
        output.WriteLine(
            $"{sends.Count} sends, {failures.Count(f => f == ApnsFailure.Connection)} connection failures, " +
            $"{failures.Count(f => f == ApnsFailure.Timeout)} timeouts; {opened.Count} connections opened, " +
            $"gaps {string.Join(", ", gaps.Select(g => $"{g.TotalSeconds:F2} s"))}; {mock.Counters.ConnectionsReset} resets.");

        // Connections at about 0, 1, 3 and 7 s: each wait doubles; none is skipped, none is early. A reconnect waits
        // for the next send (every 0.1 s) and a TLS handshake, which on a machine busy with the other test projects
        // took up to 0.7 s more: 0.9 s of slack still keeps each wait apart from the next one's.
        Assert.Equal(4, opened.Count);
        double[] backoff = [1, 2, 4];
        for (var i = 0; i < backoff.Length; i++)
        {
            Assert.InRange(gaps[i].TotalSeconds, backoff[i] - 0.05, backoff[i] + 0.9);
        }
    }

    [Fact]
    public async Task ConnectionResetEveryFifthRequestReconnectsEachSlotAtMostOnceASecond()
    {
        await using var mock = await apns.StartMockAsync();
        var timeout = TimeSpan.FromSeconds(2);
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = timeout);
        mock.InjectFaultEvery(5, MockApnsFault.ResetConnection);
        var clock = Stopwatch.StartNew();
        var accepted = 0;
        var failed = 0;
        var slowest = TimeSpan.Zero;

        // Eight senders for five seconds: each send ends accepted or with ApnsException, within its deadline.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(5))
            {
                var result = (await TestNotifications.SendAllAsync(client, [TestNotifications.For()], concurrency: 1))[0];
                lock (clock)
                {
                    accepted += result.Response?.IsAccepted == true ? 1 : 0;
                    failed += result.Failure is null ? 0 : 1;
                    slowest = result.Elapsed > slowest ? result.Elapsed : slowest;
                }
            }
        })));

        var elapsed = clock.Elapsed;
        var counters = mock.Counters;
        output.WriteLine(
            $"{accepted} accepted, {failed} ApnsException in {elapsed.TotalSeconds:F1} s, slowest {slowest.TotalMilliseconds:F0} ms; " +
            $"mock: {counters.ConnectionsReset} resets, {counters.ConnectionsOpened} connections opened.");
        Assert.True(accepted > 0, "Nothing was accepted.");
        Assert.True(slowest < timeout + TimeSpan.FromSeconds(1), $"A send took {slowest}.");

        // Two slots, each connecting at most once a second (it had accepted pushes, so the backoff stays at 1 s).
        Assert.InRange(counters.ConnectionsOpened, 2, 2 * ((int)Math.Ceiling(elapsed.TotalSeconds) + 1));
    }

    [Theory]
    [InlineData("conversation-é")]
    [InlineData("line\r\nbreak")]
    [InlineData("line\nfeed")]
    [InlineData("nul\0byte")]
    [InlineData("with space")]
    [InlineData("tab\there")]
    [InlineData("")]
    [InlineData("cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc")]
    public async Task CollapseIdThatIsNotVisibleAsciiIsRefusedBeforeAnyConnection(string collapseId)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);

        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(TestNotifications.For(collapseId: collapseId)));
        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(TestNotifications.For(collapseId: collapseId)));

        Assert.Equal(0, mock.Counters.ConnectionsOpened);
        Assert.Equal(0, mock.Counters.Requests);
        Assert.True((await client.SendAsync(TestNotifications.For(collapseId: "conversation-42"))).IsAccepted);
        Assert.Equal(1, mock.Counters.ConnectionsOpened);
    }

    [Theory]
    [InlineData("not-a-hex-device-token-not-a-hex-device-token-not-a-hex-device-t")]
    [InlineData("abc")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef\r\n0123456789abcdef0123456789abcd")]
    [InlineData("")]
    public async Task MalformedDeviceTokenIsRefusedBeforeAnyConnection(string deviceToken)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);

        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(TestNotifications.For(deviceToken)));

        Assert.Equal(0, mock.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task TopicThatIsNotVisibleAsciiIsRefusedBeforeAnyConnection()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);

        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(TestNotifications.For(topic: "com.example.chät")));
        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(TestNotifications.For(topic: "com.example.chat\r\nx-evil: 1")));

        Assert.Equal(0, mock.Counters.ConnectionsOpened);
    }

    [Theory]
    [InlineData("conversation-42", true)]
    [InlineData("!~", true)]
    [InlineData("cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", true)]
    [InlineData("cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("a b", false)]
    [InlineData("é", false)]
    [InlineData("a\u007fb", false)]
    [InlineData("a\r\nb", false)]
    [InlineData("a\0b", false)]
    public void CollapseIdRuleIsOneToSixtyFourVisibleAsciiCharacters(string? collapseId, bool valid) =>
        Assert.Equal(valid, ApnsHeaders.IsValidCollapseId(collapseId));

    [Fact]
    public async Task NoAnswerSaysItWasATimeout()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = TimeSpan.FromMilliseconds(500));
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Delay(TimeSpan.FromSeconds(5)));

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(notification));

        Assert.Equal(ApnsFailure.Timeout, failure.Failure);
        Assert.True(failure.IsTimeout);
    }

    [Theory]
    [InlineData(0x2)]
    [InlineData(0x7)]
    public async Task StreamResetOnEveryAttemptSaysItWasTheStreamAndKeepsTheConnection(int errorCode)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.ConnectionsPerEndpoint = 1);
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ResetStream(errorCode));

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(notification));
        var after = await client.SendAsync(TestNotifications.For());

        Assert.Equal(ApnsFailure.Stream, failure.Failure);
        Assert.False(failure.IsTimeout);
        Assert.True(after.IsAccepted);
        Assert.Equal(1, mock.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task StreamResetOnceIsResentWithTheSameApnsIdOnTheSameConnection()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.ConnectionsPerEndpoint = 1);
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var connection = Assert.Single(mock.Notifications).ConnectionId;
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ResetStream(0x2).Times(1));

        var response = await client.SendAsync(notification);

        Assert.True(response.IsAccepted);
        var delivered = Assert.Single(mock.NotificationsFor(notification.DeviceToken));
        Assert.Equal(notification.ApnsId.ToString("D"), delivered.ApnsId);
        Assert.Equal(connection, delivered.ConnectionId);
        Assert.Equal(1, mock.Counters.StreamsReset);
        Assert.Equal(1, mock.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task ConnectionResetOnEveryAttemptSaysItWasTheConnection()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = TimeSpan.FromSeconds(5));
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ResetConnection);

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(notification));

        Assert.Equal(ApnsFailure.Connection, failure.Failure);
        Assert.Equal(3, mock.Counters.ConnectionsReset);
    }

    [Fact]
    public async Task TlsFailureSaysItWasTheConnection()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o =>
        {
            o.TrustedCaPath = null;
            o.RequestTimeout = TimeSpan.FromSeconds(5);
        });

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(TestNotifications.For()));

        Assert.Equal(ApnsFailure.Connection, failure.Failure);
        Assert.Equal(0, mock.Counters.Requests);
    }

    private static async Task<ApnsFailure> FailureOf(Task<ApnsResponse> send)
    {
        try
        {
            var response = await send;
            throw new InvalidOperationException($"APNs answered {response.StatusCode}, but every connection was to be reset.");
        }
        catch (ApnsException e)
        {
            return e.Failure;
        }
    }
}
