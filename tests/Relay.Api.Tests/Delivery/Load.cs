using System.Diagnostics;
using System.Net;
using Relay.MockApns;

namespace Relay.Api.Tests.Delivery;

/// <summary>One sender, many single-device recipients, and a paced, bounded stream of messages between them.</summary>
public sealed class Load
{
    private Load(TestAccount sender, IReadOnlyList<LoadDevice> devices)
    {
        Sender = sender;
        Devices = devices;
    }

    public TestAccount Sender { get; }

    public IReadOnlyList<LoadDevice> Devices { get; }

    public static async Task<Load> PrepareAsync(RelayFactory relay, int recipients)
    {
        var sender = await relay.CreateAccountAsync();
        var devices = new List<LoadDevice>();
        for (var i = 0; i < recipients; i++)
        {
            var account = await relay.CreateAccountAsync();
            var (deviceId, token) = await account.RegisterDeviceAsync();
            devices.Add(new LoadDevice(account.AccountId, deviceId, token));
        }

        return new Load(sender, devices);
    }

    /// <summary>
    /// Posts <paramref name="count"/> single-recipient messages at about <paramref name="perSecond"/>, 32 at a time,
    /// while <paramref name="onStart"/> runs beside them (a fault window); both must end.
    /// </summary>
    public async Task<LoadAnswers> PostAsync(int count, int perSecond, Func<Task> onStart)
    {
        var answers = new LoadAnswer[count];
        using var gate = new SemaphoreSlim(32);
        var clock = Stopwatch.StartNew();
        var beside = Task.Run(onStart);
        var posts = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / perSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            await gate.WaitAsync();
            var index = i;
            var device = Devices[i % Devices.Count];
            posts.Add(Task.Run(async () =>
            {
                try
                {
                    var (status, body) = await Sender.PostMessageAsync(new { to = new[] { device.AccountId }, ciphertext = Json.NewCiphertext(64) });
                    Assert.Equal(HttpStatusCode.OK, status);
                    var delivery = Assert.Single(body.GetProperty("deliveries").EnumerateArray());
                    answers[index] = new LoadAnswer(body.GetProperty("messageId").GetGuid(), delivery.GetProperty("apnsId").GetGuid(),
                        delivery.GetProperty("status").GetString()!, device);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }

        await Task.WhenAll(posts);
        var elapsed = clock.Elapsed;
        await beside.WaitAsync(TimeSpan.FromSeconds(60));
        return new LoadAnswers(answers, count / elapsed.TotalSeconds);
    }

    /// <summary>Every delivery ended sent, and the mock accepted each one exactly once, with the apns-id first answered.</summary>
    public static void AssertEverySentExactlyOnce(
        LoadAnswers answers, Dictionary<Guid, (string Status, string? Reason, DateTimeOffset UpdatedAt, Guid MessageId)> final, MockApnsServer mock)
    {
        var accepted = mock.Notifications.GroupBy(n => n.ApnsId).ToDictionary(g => g.Key, g => g.ToList());
        var notSent = 0;
        var missing = 0;
        var duplicated = 0;
        foreach (var answer in answers.All)
        {
            var row = final[answer.ApnsId];
            notSent += row.Status == "sent" ? 0 : 1;
            if (!accepted.TryGetValue(answer.ApnsId.ToString("D"), out var copies))
            {
                missing++;
                continue;
            }

            duplicated += copies.Count - 1;
            Assert.All(copies, c => Assert.Equal(answer.Device.Token, c.DeviceToken));
            Assert.Contains($"\"messageId\":\"{answer.MessageId:D}\"", System.Text.Encoding.UTF8.GetString(copies[0].Body.Span), StringComparison.Ordinal);
        }

        Assert.Equal((0, 0, 0), (notSent, missing, duplicated));
    }
}

public sealed record LoadDevice(Guid AccountId, Guid DeviceId, string Token);

public sealed record LoadAnswer(Guid MessageId, Guid ApnsId, string Status, LoadDevice Device);

public sealed record LoadAnswers(IReadOnlyList<LoadAnswer> All, double Rate)
{
    public int Count => All.Count;

    public int AnsweredRetrying => All.Count(a => a.Status == "retrying");

    public IReadOnlyCollection<Guid> MessageIds => [.. All.Select(a => a.MessageId)];
}
