using System.Diagnostics;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Faults;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessFaults
{
    public const string Name = "Process faults";
}

/// <summary>
/// The relay as a real process, killed or stopped in the middle of a load and started again on the same database:
/// nothing it accepted is lost, and APNs sees a delivery twice only if its attempt was in flight at a crash.
/// </summary>
[Collection(ProcessFaults.Name)]
public sealed class RelayCrashTests(ITestOutputHelper output)
{
    private const int Recipients = 20;
    private const int Concurrency = 32;

    [Fact]
    public async Task EveryMessageAcceptedBeforeASigkillIsSentAfterARestartRepeatingOnlyAttemptsInFlight()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var rig = await FaultRig.StartAsync(output);
        var first = await rig.StartRelayAsync("relay A", database.ConnectionString);
        var load = await FaultRig.PrepareAsync(first, Recipients);

        // APNs answers one push in four after a second: those attempts are surely in flight at the kill, and their
        // leases must be taken over after the restart.
        rig.Apns.InjectFaultEvery(4, Relay.MockApns.MockApnsBehavior.Delay(TimeSpan.FromSeconds(1)));
        TimeSpan killTook = default;
        HashSet<Guid> acceptedAtKill = [];
        using var stop = new CancellationTokenSource();
        var answers = await load.RunAsync([first.Address], count: 1_500, perSecond: 150, Concurrency, async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            killTook = await first.KillAsync();
            await stop.CancelAsync();
            // A request the mock was answering as the relay died (a delayed one included) is recorded by now.
            await Task.Delay(TimeSpan.FromSeconds(2));
            acceptedAtKill = [.. DeliveryLedger.AcceptedByApnsId(rig.Apns).Keys];
        }, stop.Token);
        rig.Apns.StopInjectingFaults();

        // In flight at the kill and already accepted by APNs: the deliveries APNs has that the relay had not recorded.
        var atKill = await DeliveryLedger.ReadAsync(database.ConnectionString);
        var inFlight = atKill.Values.Where(r => r.Status == "retrying" && acceptedAtKill.Contains(r.ApnsId)).Select(r => r.ApnsId).ToHashSet();
        var unfinished = atKill.Values.Count(r => r.Status == "retrying");

        var clock = Stopwatch.StartNew();
        await using var second = await rig.StartRelayAsync("relay B", database.ConnectionString,
            ("Serilog:MinimumLevel:Override:Relay.Api.Deliveries.DeliveryDispatcher", "Information"));
        var restarted = clock.Elapsed;
        var (final, took) = await DeliveryLedger.WaitUntilFinalAsync(database.ConnectionString, TimeSpan.FromSeconds(90));

        output.WriteLine($"{answers}");
        var repeats = DeliveryLedger.AssertAllSent(answers, final, rig.Apns);
        output.WriteLine($"SIGKILL took {killTook.TotalMilliseconds:F0} ms; at the kill {atKill.Count} deliveries stored, {unfinished} unfinished, "
            + $"{inFlight.Count} of them already accepted by APNs; restart ready in {restarted.TotalSeconds:F1} s, all sent {took.TotalSeconds:F1} s after it");
        output.WriteLine($"APNs accepted {rig.Apns.Notifications.Count} notifications for {final.Count} deliveries: {repeats.Values.Sum()} repeats");
        var takenOver = second.Output.Where(l => l.Contains("Took over", StringComparison.Ordinal)).ToList();
        takenOver.ForEach(l => output.WriteLine($"  relay B: {l}"));

        Assert.True(answers.Accepted.Count > 20, $"only {answers.Accepted.Count} messages were accepted before the kill");
        Assert.True(answers.All.Any(a => !a.IsAccepted), "the kill came after the last post: nothing was cut off");
        // Repeats only for attempts in flight at the kill, once each, under the apns-id the delivery always had.
        Assert.All(repeats, r => Assert.Contains(r.Key, inFlight));
        Assert.All(repeats, r => Assert.Equal(1, r.Value));
        // In flight is bounded by what was running: the posts being answered and the first attempts answered retrying.
        Assert.InRange(inFlight.Count, 0, Concurrency + answers.Count("retrying"));
        // The killed relay's unfinished deliveries were taken over once their leases ran out.
        Assert.True(unfinished > 0, "nothing was in flight at the kill");
        Assert.NotEmpty(takenOver);
    }

    [Fact]
    public async Task ASigtermedRelayFinishesItsAttemptsExitsZeroInTimeAndLosesNothing()
    {
        await using var database = await TestDatabase.CreateAsync();
        await using var rig = await FaultRig.StartAsync(output);
        var shutdownTimeout = TimeSpan.FromSeconds(5);
        var first = await rig.StartRelayAsync("relay A", database.ConnectionString,
            ("Delivery:ShutdownTimeout", "00:00:05"), ("Delivery:AnswerTimeout", "00:00:01"), ("Apns:RequestTimeout", "00:00:05"),
            ("Serilog:MinimumLevel:Override:Relay.Api.Deliveries.DeliveryAttempts", "Information"));
        var load = await FaultRig.PrepareAsync(first, Recipients);

        // APNs answers one push in five after 2 s (well within Apns:RequestTimeout): those are answered retrying and
        // are still in flight at the signal, so the drain has attempts to wait for.
        rig.Apns.InjectFaultEvery(5, Relay.MockApns.MockApnsBehavior.Delay(TimeSpan.FromSeconds(2)));
        (int ExitCode, TimeSpan Took) exit = default;
        using var stop = new CancellationTokenSource();
        var answers = await load.RunAsync([first.Address], count: 1_500, perSecond: 150, Concurrency, async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            // The host's own deadline is Delivery:ShutdownTimeout + 10 s; an exit later than that is a hang.
            exit = await first.TerminateAsync(shutdownTimeout + TimeSpan.FromSeconds(10));
            await stop.CancelAsync();
        }, stop.Token);
        rig.Apns.StopInjectingFaults();
        var atExit = await DeliveryLedger.ReadAsync(database.ConnectionString);
        var unfinished = atExit.Values.Where(r => r.Status == "retrying").ToList();

        await using var second = await rig.StartRelayAsync("relay B", database.ConnectionString);
        var (final, took) = await DeliveryLedger.WaitUntilFinalAsync(database.ConnectionString, TimeSpan.FromSeconds(90));

        output.WriteLine($"{answers}");
        foreach (var group in answers.All.Where(a => !a.IsAccepted).GroupBy(a => (a.HttpStatus, a.Error)))
        {
            output.WriteLine($"  {group.Count()} × {group.Key.HttpStatus} {group.Key.Error} from {group.Min(a => a.At).TotalSeconds:F2} s to {group.Max(a => a.At).TotalSeconds:F2} s");
        }

        foreach (var line in first.Output.Where(l => l.Contains("Stopping", StringComparison.Ordinal)))
        {
            output.WriteLine($"  relay A: {line}");
        }

        output.WriteLine($"SIGTERM: exit code {exit.ExitCode} after {exit.Took.TotalSeconds:F2} s; {unfinished.Count} of {atExit.Count} deliveries unfinished; "
            + $"after the restart all sent in {took.TotalSeconds:F1} s");
        Assert.True(exit.ExitCode == 0, $"exit code {exit.ExitCode}:\n{first.Tail()}");
        Assert.InRange(exit.Took, TimeSpan.Zero, shutdownTimeout + TimeSpan.FromSeconds(10));
        // What it did not finish, it gave back: no lease of the stopped relay is left to run out.
        Assert.All(unfinished, r => Assert.Null(r.LeaseOwner));
        var repeats = DeliveryLedger.AssertAllSent(answers, final, rig.Apns);
        output.WriteLine($"APNs accepted {rig.Apns.Notifications.Count} notifications for {final.Count} deliveries: {repeats.Values.Sum()} repeats");
        // A graceful stop finishes its attempts or gives back the unstarted: it makes APNs see no delivery twice. (On a
        // starved machine an attempt may go unanswered in time and be retried; that retry is a counted attempt.)
        DeliveryLedger.AssertEveryCopyWasACountedAttempt(repeats, final);
        // A stopping relay answers 503 or closes the port, never 500.
        Assert.All(answers.All, a => Assert.Contains(a.HttpStatus, new[] { 200, 503, SendAnswer.NoAnswer }));
        Assert.True(answers.Accepted.Count > 20, $"only {answers.Accepted.Count} messages were accepted before the signal");
        Assert.True(answers.Count("retrying") > 0, "no attempt was still in flight when the relay was answering: the drain was not exercised");
    }
}
