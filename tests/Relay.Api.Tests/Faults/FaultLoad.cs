using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.Api.Tests.Delivery;

namespace Relay.Api.Tests.Faults;

/// <summary>
/// One sender and many single-device recipients, and a bounded, paced stream of messages between them: at most
/// <c>count</c> posts at about <c>perSecond</c>, at most <c>concurrency</c> at a time, spread over the relays given.
/// Every answer is recorded, including none at all (the relay died or closed its port).
/// </summary>
public sealed class FaultLoad(string bearerToken, IReadOnlyList<LoadDevice> devices)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public IReadOnlyList<LoadDevice> Devices { get; } = devices;

    /// <summary>
    /// Posts the messages round-robin to <paramref name="relays"/> while <paramref name="beside"/> runs (the fault);
    /// both must end. The posts stop early when <paramref name="stop"/> is cancelled.
    /// </summary>
    public async Task<SendAnswers> RunAsync(
        IReadOnlyList<Uri> relays, int count, int perSecond, int concurrency, Func<Task> beside, CancellationToken stop = default)
    {
        var clients = relays.Select(address =>
        {
            var client = new HttpClient { BaseAddress = address, Timeout = RequestTimeout };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearerToken);
            return client;
        }).ToList();
        try
        {
            var answers = new List<SendAnswer>(count);
            using var gate = new SemaphoreSlim(concurrency);
            var clock = Stopwatch.StartNew();
            var fault = Task.Run(beside, CancellationToken.None);
            var posts = new List<Task<SendAnswer>>(count);
            for (var i = 0; i < count && !stop.IsCancellationRequested; i++)
            {
                var due = TimeSpan.FromSeconds((double)i / perSecond);
                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed, CancellationToken.None);
                }

                await gate.WaitAsync(CancellationToken.None);
                var index = i;
                var client = clients[i % clients.Count];
                var device = Devices[i % Devices.Count];
                posts.Add(Task.Run(async () =>
                {
                    try
                    {
                        return await PostAsync(client, index, device, clock);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }, CancellationToken.None));
            }

            answers.AddRange(await Task.WhenAll(posts));
            var elapsed = clock.Elapsed;
            await fault.WaitAsync(TimeSpan.FromSeconds(120), CancellationToken.None);
            return new SendAnswers(answers, elapsed);
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose();
            }
        }
    }

    private static async Task<SendAnswer> PostAsync(HttpClient client, int index, LoadDevice device, Stopwatch clock)
    {
        var at = clock.Elapsed;
        try
        {
            using var response = await client.PostAsJsonAsync("/v1/messages", new { to = new[] { device.AccountId }, ciphertext = Json.NewCiphertext(64) });
            var status = (int)response.StatusCode;
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var retryAfter = response.Headers.RetryAfter?.ToString();
            if (status != 200)
            {
                return new SendAnswer(index, device, client.BaseAddress!, at, status, mediaType, retryAfter, null, null, null);
            }

            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            var delivery = Assert.Single(body.GetProperty("deliveries").EnumerateArray());
            Assert.Equal(device.DeviceId, delivery.GetProperty("deviceId").GetGuid());
            return new SendAnswer(index, device, client.BaseAddress!, at, status, mediaType, retryAfter,
                body.GetProperty("messageId").GetGuid(), delivery.GetProperty("apnsId").GetGuid(), delivery.GetProperty("status").GetString());
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return new SendAnswer(index, device, client.BaseAddress!, at, SendAnswer.NoAnswer, null, null, null, null, null)
            {
                Error = e.InnerException?.Message ?? e.Message,
            };
        }
    }
}

/// <summary>
/// One post's answer: the HTTP status (<see cref="NoAnswer"/> when the connection failed), and for a 200 the
/// message id, the delivery's apns-id and the status it was answered with (<c>sent</c>, <c>retrying</c>, <c>failed</c>).
/// </summary>
public sealed record SendAnswer(
    int Index, LoadDevice Device, Uri Relay, TimeSpan At, int HttpStatus, string? MediaType, string? RetryAfter,
    Guid? MessageId, Guid? ApnsId, string? Status)
{
    public const int NoAnswer = 0;

    /// <summary>Why there was no answer (connection refused, reset, timed out).</summary>
    public string? Error { get; init; }

    public bool IsAccepted => HttpStatus == 200;
}

public sealed record SendAnswers(IReadOnlyList<SendAnswer> All, TimeSpan Took)
{
    public IReadOnlyList<SendAnswer> Accepted => [.. All.Where(a => a.IsAccepted)];

    public int Count(string status) => All.Count(a => a.Status == status);

    public int CountHttp(int status) => All.Count(a => a.HttpStatus == status);

    public override string ToString()
    {
        var refused = All.Where(a => !a.IsAccepted).GroupBy(a => a.HttpStatus).OrderBy(g => g.Key)
            .Select(g => $", {g.Count()} × {(g.Key == SendAnswer.NoAnswer ? "no answer" : g.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))}");
        return $"{All.Count} posted in {Took.TotalSeconds:F1} s: {Accepted.Count} accepted ({Count("sent")} sent, {Count("retrying")} retrying, "
            + $"{Count("failed")} failed){string.Concat(refused)}";
    }
}
