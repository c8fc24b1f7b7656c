using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Faults;

/// <summary>Two relay processes on one PostgreSQL share the deliveries: each is attempted by one of them at a time.</summary>
[Collection(ProcessFaults.Name)]
public sealed class SharedDatabaseTests(ITestOutputHelper output)
{
    private static readonly TimeSpan MaxWindow = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task TwoRelaysThroughA503WindowSendEveryDeliveryOnceBetweenThem()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var rig = await FaultRig.StartAsync(output);
        // A lease longer than any attempt: a second copy could only come from two instances attempting one delivery.
        (string, string) lease = ("Delivery:LeaseTimeout", "00:00:10");
        var a = await rig.StartRelayAsync("relay A", database.ConnectionString, lease);
        var b = await rig.StartRelayAsync("relay B", database.ConnectionString, lease);
        var load = await FaultRig.PrepareAsync(a, 20);

        var window = TimeSpan.FromSeconds(4);
        long requestsInWindow = 0;
        TimeSpan windowTook = default;
        var answers = await load.RunAsync([a.Address, b.Address], count: 1_500, perSecond: 150, concurrency: 32, async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(2));
            var before = rig.Apns.Counters.Requests;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            rig.Apns.InjectFaultEvery(1, MockApnsFault.ServiceUnavailable);
            await Task.Delay(window);
            // On a starved machine the relays may have sent little meanwhile: the window lasts until it caught some.
            while (rig.Apns.Counters.RejectedByReason.GetValueOrDefault("ServiceUnavailable") < 10 && clock.Elapsed < MaxWindow)
            {
                await Task.Delay(100);
            }

            rig.Apns.StopInjectingFaults();
            windowTook = clock.Elapsed;
            requestsInWindow = rig.Apns.Counters.Requests - before;
        });

        var (final, took) = await DeliveryLedger.WaitUntilFinalAsync(database.ConnectionString, TimeSpan.FromSeconds(90));

        output.WriteLine($"{answers}");
        var unavailable = rig.Apns.Counters.RejectedByReason.GetValueOrDefault("ServiceUnavailable");
        output.WriteLine($"503 for every push for {windowTook.TotalSeconds:F1} s: {requestsInWindow} APNs requests in it, {unavailable} answered 503; "
            + $"all sent {took.TotalSeconds:F1} s after the load");
        var repeats = DeliveryLedger.AssertAllSent(answers, final, rig.Apns);
        output.WriteLine($"APNs accepted {rig.Apns.Notifications.Count} notifications for {final.Count} deliveries: {repeats.Values.Sum()} repeats");
        Assert.Empty(repeats);
        Assert.All(answers.All, answer => Assert.Equal(200, answer.HttpStatus));
        // Both relays took messages, and the window caught some: they were retried, not sent at once.
        Assert.All(new[] { a.Address, b.Address }, relay => Assert.Contains(answers.Accepted, x => x.Relay == relay));
        Assert.True(unavailable > 0, "the mock answered no push 503: the window caught nothing");
        Assert.True(answers.Count("retrying") > 0, "no message was answered retrying: the 503 window caught nothing");
        Assert.True(final.Values.Any(r => r.Attempts > 1), "no delivery needed a second attempt");
    }
}
