using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Delivery;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DeliveryFaults
{
    public const string Name = "Delivery faults";
}

/// <summary>
/// Accepted messages survive APNs's faults: every delivery ends sent, each accepted by APNs exactly once and always
/// with the apns-id the sender was given. Counted per message and device at the mock.
/// </summary>
[Collection(DeliveryFaults.Name)]
public sealed class DeliveryFaultTests(DeliveryRelayFactory relay, ITestOutputHelper output) : IClassFixture<DeliveryRelayFactory>
{
    private const int Recipients = 40;

    [Fact]
    public async Task MessagesAcceptedDuringA503StormAreSentOnceAfterIt()
    {
        var load = await Load.PrepareAsync(relay, Recipients);
        var storm = TimeSpan.FromSeconds(10);
        double? stormRate = null;
        var run = load.PostAsync(count: 5_000, perSecond: 400, onStart: async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            relay.Production.InjectFaultEvery(1, MockApnsFault.ServiceUnavailable);
            var before = relay.Production.Counters.Requests;
            var clock = Stopwatch.StartNew();
            await Task.Delay(storm);
            stormRate = (relay.Production.Counters.Requests - before) / clock.Elapsed.TotalSeconds;
            relay.Production.StopInjectingFaults();
        });

        var answers = await run;
        var final = await relay.WaitUntilFinalAsync(answers.MessageIds, TimeSpan.FromSeconds(60));

        output.WriteLine($"posted {answers.Count} at {answers.Rate:F0}/s; {answers.AnsweredRetrying} answered retrying; "
            + $"APNs requests during the storm {stormRate:F1}/s");
        Load.AssertEverySentExactlyOnce(answers, final, relay.Production);
        // Backoff works: during the storm the relay asks APNs far less often than messages arrive.
        Assert.True(stormRate < answers.Rate / 4, $"{stormRate:F1} requests/s to APNs during the storm, {answers.Rate:F0} messages/s posted");
    }

    public static TheoryData<string> Faults => ["500", "stream resets", "GOAWAY every 500 streams", "no answers", "429 for every push"];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task MessagesAcceptedThroughAFaultAreSentOnce(string fault)
    {
        var load = await Load.PrepareAsync(relay, Recipients);
        var answers = await load.PostAsync(count: 1_500, perSecond: 300, onStart: async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            switch (fault)
            {
                case "500":
                    relay.Production.InjectFaultEvery(1, MockApnsFault.InternalServerError);
                    break;
                case "stream resets":
                    relay.Production.InjectFaultEvery(20, MockApnsFault.RefuseStream);
                    break;
                case "GOAWAY every 500 streams":
                    relay.Production.InjectFaultEvery(500, MockApnsFault.GoAway);
                    break;
                case "no answers":
                    // Longer than the relay's deadline, and then no answer at all: the attempt must be retried.
                    relay.Production.InjectFaultEvery(1, MockApnsBehavior.ResetStream(0x2).WithDelay(TimeSpan.FromSeconds(3)));
                    break;
                case "429 for every push":
                    relay.Production.InjectFaultEvery(1, MockApnsFault.TooManyRequests);
                    break;
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
            relay.Production.StopInjectingFaults();
        });

        var final = await relay.WaitUntilFinalAsync(answers.MessageIds, TimeSpan.FromSeconds(60));

        output.WriteLine($"{fault}: posted {answers.Count} at {answers.Rate:F0}/s; {answers.AnsweredRetrying} answered retrying; "
            + $"mock counters {relay.Production.Counters}");
        Load.AssertEverySentExactlyOnce(answers, final, relay.Production);
    }

    [Fact]
    public async Task TooManyRequestsDelaysThatDeviceOnly()
    {
        var load = await Load.PrepareAsync(relay, 10);
        var throttled = load.Devices.Take(3).ToList();
        foreach (var device in throttled)
        {
            relay.Production.Script(device.Token, MockApnsBehavior.TooManyRequests.Times(3));
        }

        var answers = new List<System.Text.Json.JsonElement>();
        for (var round = 0; round < 3; round++)
        {
            var (status, body) = await load.Sender.PostMessageAsync(new { to = load.Devices.Select(d => d.AccountId).ToArray(), ciphertext = Json.NewCiphertext() });
            Assert.Equal(HttpStatusCode.OK, status);
            answers.Add(body);
        }

        // Devices that were not throttled are sent at once, every round: a 429 holds nobody else back.
        foreach (var body in answers)
        {
            foreach (var device in load.Devices.Skip(3))
            {
                Assert.Equal("sent", body.Delivery(device.DeviceId).GetProperty("status").GetString());
            }
        }

        Assert.Equal("retrying", answers[0].Delivery(throttled[0].DeviceId).GetProperty("status").GetString());
        Assert.Equal("TooManyRequests", answers[0].Delivery(throttled[0].DeviceId).GetProperty("reason").GetString());
        var messageIds = answers.Select(a => a.GetProperty("messageId").GetGuid()).ToList();
        var final = await relay.WaitUntilFinalAsync(messageIds, TimeSpan.FromSeconds(30));
        Assert.All(final.Values, row => Assert.Equal("sent", row.Status));
        foreach (var device in throttled)
        {
            Assert.Equal(3, relay.Production.NotificationsFor(device.Token).Count);
        }
    }

    [Fact]
    public async Task MessagesThatExpireDuringAnOutageFailWithReasonExpiredOnTime()
    {
        var load = await Load.PrepareAsync(relay, 2);
        relay.Production.InjectFaultEvery(1, MockApnsFault.ServiceUnavailable);
        try
        {
            var to = new[] { load.Devices[0].AccountId };
            var (_, now) = await load.Sender.PostMessageAsync(new { to, ciphertext = Json.NewCiphertext(), ttlSeconds = 0 });
            var (_, soon) = await load.Sender.PostMessageAsync(new { to, ciphertext = Json.NewCiphertext(), ttlSeconds = 4 });
            Assert.Equal("retrying", now.GetProperty("deliveries")[0].GetProperty("status").GetString());
            var ids = new[] { now.GetProperty("messageId").GetGuid(), soon.GetProperty("messageId").GetGuid() };

            var final = await relay.WaitUntilFinalAsync(ids, TimeSpan.FromSeconds(15));

            foreach (var (messageId, window) in new[] { (ids[0], DeliveryRelayFactory.ImmediateRetryWindow), (ids[1], TimeSpan.FromSeconds(4)) })
            {
                var row = Assert.Single(final.Values, r => r.MessageId == messageId);
                Assert.Equal(("failed", "Expired"), (row.Status, row.Reason));
                var state = await load.Sender.Client.GetFromJsonAsync<System.Text.Json.JsonElement>($"/v1/messages/{messageId}");
                var created = state.GetProperty("createdAt").GetDateTimeOffset();
                var took = row.UpdatedAt - created;
                output.WriteLine($"window {window}: failed Expired after {took}");
                Assert.InRange(took, window - TimeSpan.FromMilliseconds(50), window + TimeSpan.FromSeconds(1.5));
            }

            // Nothing is owed any more: the ciphertexts are gone.
            Assert.Equal(0, await relay.Database.CountAsync($"messages WHERE id IN ('{ids[0]}', '{ids[1]}') AND ciphertext IS NOT NULL"));
        }
        finally
        {
            relay.Production.StopInjectingFaults();
        }
    }
}
