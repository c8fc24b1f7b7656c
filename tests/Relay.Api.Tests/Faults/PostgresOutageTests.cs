using System.Diagnostics;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Faults;

/// <summary>PostgreSQL stops under a running relay and comes back: the relay says so honestly and catches up by itself.</summary>
[Collection(ProcessFaults.Name)]
public sealed class PostgresOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task DuringAPostgresOutageTheRelayAnswers503WithRetryAfterAndAfterItRecoversAndDeliversEverythingAccepted()
    {
        await using var cluster = await PostgresCluster.StartAsync();
        await using var rig = await FaultRig.StartAsync(output);
        // The lease outlasts the outage and the writers' catching up: a delivery is attempted again only if its
        // acceptance was committed but never answered.
        var relay = await rig.StartRelayAsync("relay", cluster.ConnectionString, ("Delivery:LeaseTimeout", "00:00:15"));
        var load = await FaultRig.PrepareAsync(relay, 20);

        var clock = Stopwatch.StartNew();
        TimeSpan stoppedAt = default, backAt = default, readyAt = default;
        bool? readyDuringOutage = null;
        var answers = await load.RunAsync([relay.Address], count: 1_400, perSecond: 100, concurrency: 32, async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            await cluster.StopAsync();
            stoppedAt = clock.Elapsed;
            await Task.Delay(Outage / 2);
            readyDuringOutage = await relay.IsReadyAsync();
            await Task.Delay(Outage / 2);
            await cluster.StartAgainAsync();
            backAt = clock.Elapsed;
            await relay.WaitUntilReadyAsync(TimeSpan.FromSeconds(60));
            readyAt = clock.Elapsed;
        });
        var (final, took) = await DeliveryLedger.WaitUntilFinalAsync(cluster.ConnectionString, TimeSpan.FromSeconds(90));

        output.WriteLine($"{answers}");
        output.WriteLine($"PostgreSQL stopped at {stoppedAt.TotalSeconds:F1} s, back at {backAt.TotalSeconds:F1} s; the relay ready again "
            + $"{(readyAt - backAt).TotalSeconds:F2} s later; all sent {took.TotalSeconds:F1} s after the load");
        var refused = answers.All.Where(a => !a.IsAccepted).ToList();
        foreach (var group in refused.GroupBy(a => (a.HttpStatus, a.MediaType, a.RetryAfter, a.Error)))
        {
            output.WriteLine($"  {group.Count()} × {group.Key} from {group.Min(a => a.At).TotalSeconds:F2} s to {group.Max(a => a.At).TotalSeconds:F2} s");
        }

        // Honest answers only: accepted, or 503 problem+json saying when to come back. Never a 500, never a hang.
        Assert.All(refused, a =>
        {
            Assert.Equal(503, a.HttpStatus);
            Assert.Equal("application/problem+json", a.MediaType);
            Assert.False(string.IsNullOrEmpty(a.RetryAfter), "a 503 without Retry-After");
        });
        Assert.NotEmpty(refused);
        Assert.Contains(answers.Accepted, a => a.At > backAt);
        Assert.False(readyDuringOutage, "readiness said ready while PostgreSQL was down");
        Assert.InRange(readyAt - backAt, TimeSpan.Zero, TimeSpan.FromSeconds(15));

        var repeats = DeliveryLedger.AssertAllSent(answers, final, rig.Apns);
        output.WriteLine($"APNs accepted {rig.Apns.Notifications.Count} notifications for {final.Count} deliveries "
            + $"({final.Count - answers.Accepted.Count} committed but not answered): {repeats.Values.Sum()} repeats");
        DeliveryLedger.AssertEveryCopyWasACountedAttempt(repeats, final);

        // The relay's own log tells it the same way: the 503s are logged as 503 (not 500), for the endpoint asked.
        var log = relay.Output;
        Assert.DoesNotContain(log, line => line.Contains("responded 500", StringComparison.Ordinal));
        Assert.Contains(log, line => line.Contains("responded 503", StringComparison.Ordinal));
        Assert.Contains(log, line => line.Contains("PostgreSQL is unavailable", StringComparison.Ordinal)
            && line.Contains("/v1/messages", StringComparison.Ordinal));
    }
}
