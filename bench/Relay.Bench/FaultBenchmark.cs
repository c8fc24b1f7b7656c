using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.Bench;

/// <summary>
/// Durable delivery through an APNs outage: single-recipient messages posted at a fixed rate to a running relay while
/// the mock (recording, started by bench/e2e.sh with MODE=faults) answers every push 503 ServiceUnavailable for a
/// window. Then it waits until every delivery is final and counts, per message and per device, what the mock
/// accepted: deliveries lost (answered but never accepted), duplicated (accepted more than once) and the APNs
/// request rate before, during and after the window (backoff).
/// </summary>
internal static class FaultBenchmark
{
    public static IReadOnlyCollection<string> Options { get; } =
        ["--relay", "--mock", "--topic", "--clients", "--rate", "--duration", "--fault-at", "--fault-for", "--settle-timeout"];

    public static async Task<int> RunAsync(BenchArguments arguments)
    {
        var relay = new Uri(arguments.Required("--relay"));
        var mock = new Uri(arguments.Required("--mock"));
        var topic = arguments.Optional("--topic") ?? "com.example.chat";
        var clients = arguments.Int("--clients", 32);
        var rate = arguments.Int("--rate", 500);
        var duration = arguments.Duration("--duration", TimeSpan.FromSeconds(30));
        var faultAt = arguments.Duration("--fault-at", TimeSpan.FromSeconds(10));
        var faultFor = arguments.Duration("--fault-for", TimeSpan.FromSeconds(10));
        var settleTimeout = arguments.Duration("--settle-timeout", TimeSpan.FromSeconds(120));
        var invariant = CultureInfo.InvariantCulture;
        var ciphertext = Convert.ToBase64String(RandomNumberGenerator.GetBytes(256));

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients, UseCookies = false })
        { BaseAddress = relay, Timeout = TimeSpan.FromSeconds(30) };
        using var mockClient = MockControl.CreateClient(mock);

        var total = (int)(rate * duration.TotalSeconds);
        Console.WriteLine(string.Create(invariant,
            $"Relay fault benchmark: {relay}, {total} single-recipient messages at {rate}/s from {clients} clients; every push answered 503 from {faultAt.TotalSeconds:F0} s for {faultFor.TotalSeconds:F0} s"));
        var pairs = await RelayAccounts.PairUpAsync(http, topic, clients);
        (await mockClient.PostAsync("/control/reset", null)).EnsureSuccessStatusCode();

        var answered = new ConcurrentBag<Answer>();
        long refused = 0;
        var next = -1;
        var clock = Stopwatch.StartNew();
        var samples = SampleRequestsAsync(mockClient, clock, duration + TimeSpan.FromSeconds(5));
        var fault = ScheduleFaultAsync(mockClient, clock, faultAt, faultFor);
        await Task.WhenAll(pairs.Select((pair, client) => Task.Run(async () =>
        {
            var body = Encoding.UTF8.GetBytes($$"""{"to":["{{pair.Recipient}}"],"ciphertext":"{{ciphertext}}"}""");
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var due = TimeSpan.FromSeconds((double)i / rate) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due);
                }

                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pair.SenderToken);
                var started = clock.Elapsed;
                using var response = await http.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref refused);
                    continue;
                }

                var json = await response.Content.ReadFromJsonAsync<JsonElement>();
                var delivery = json.GetProperty("deliveries")[0];
                answered.Add(new Answer(json.GetProperty("messageId").GetGuid(), delivery.GetProperty("apnsId").GetGuid(), pair.DeviceToken,
                    delivery.GetProperty("status").GetString()!, started, clock.Elapsed - started));
            }
        })));
        var posting = clock.Elapsed;
        await fault;

        // Every answered message must end sent; wait for the retries to drain.
        var pending = answered.ToDictionary(a => a.MessageId);
        var final = new ConcurrentDictionary<Guid, string>();
        foreach (var a in answered.Where(a => a.Status != "retrying"))
        {
            final[a.MessageId] = a.Status;
        }

        var settle = Stopwatch.StartNew();
        while (final.Count < pending.Count && settle.Elapsed < settleTimeout)
        {
            await Parallel.ForEachAsync(pending.Keys.Where(id => !final.ContainsKey(id)).Take(2_000),
                new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
                {
                    var pair = pairs.First(p => p.DeviceToken == pending[id].DeviceToken);
                    using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/messages/{id}");
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pair.SenderToken);
                    using var response = await http.SendAsync(request, ct);
                    var state = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
                    var status = state.GetProperty("deliveries")[0].GetProperty("status").GetString()!;
                    if (status != "retrying")
                    {
                        final[id] = status;
                    }
                });
            if (final.Count < pending.Count)
            {
                await Task.Delay(500);
            }
        }

        await samples.ContinueWith(_ => { }, TaskScheduler.Default);
        var accepted = await mockClient.GetFromJsonAsync<JsonElement>("/control/notifications");
        var byApnsId = new Dictionary<Guid, int>();
        var byDevice = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var notification in accepted.EnumerateArray())
        {
            var apnsId = Guid.Parse(notification.GetProperty("apnsId").GetString()!);
            byApnsId[apnsId] = byApnsId.GetValueOrDefault(apnsId) + 1;
            var token = notification.GetProperty("deviceToken").GetString()!;
            byDevice[token] = byDevice.GetValueOrDefault(token) + 1;
        }

        var lost = answered.Count(a => !byApnsId.ContainsKey(a.ApnsId));
        var duplicated = byApnsId.Values.Sum(n => n - 1);
        var deviceMismatch = pairs.Count(p => byDevice.GetValueOrDefault(p.DeviceToken) != answered.Count(a => a.DeviceToken == p.DeviceToken));
        var notSent = pending.Count - final.Count(f => f.Value == "sent");
        var answeredRetrying = answered.Count(a => a.Status == "retrying");
        var rates = await samples;
        Console.WriteLine(string.Create(invariant,
            $"posted {total} in {posting.TotalSeconds:F1} s: {answered.Count} answered 200 ({answeredRetrying} of them retrying), {refused} refused"));
        Console.WriteLine(string.Create(invariant,
            $"settled in {settle.Elapsed.TotalSeconds:F1} s after the load: {final.Count(f => f.Value == "sent")} sent, {notSent} not sent"));
        Console.WriteLine(string.Create(invariant,
            $"mock accepted {byApnsId.Values.Sum()} notifications for {byApnsId.Count} apns-ids; devices whose count differs from their messages: {deviceMismatch}"));
        Console.WriteLine(string.Create(invariant,
            $"APNs requests/s: before the window {rates.Before:F0}, during it {rates.During:F0}, after it {rates.After:F0} (posting {rate}/s)"));
        string Latency(TimeSpan from, TimeSpan to)
        {
            var inside = answered.Where(a => a.PostedAt >= from && a.PostedAt < to).Select(a => a.Latency.TotalMilliseconds).Order().ToArray();
            return inside.Length == 0 ? "none"
                : string.Create(invariant, $"{inside.Length} posts, p50 {inside[inside.Length / 2]:F1} ms, p99 {inside[Math.Min(inside.Length - 1, (int)(inside.Length * 0.99))]:F1} ms");
        }

        Console.WriteLine($"POST latency before the window: {Latency(TimeSpan.Zero, faultAt)}");
        Console.WriteLine($"POST latency during the window: {Latency(faultAt, faultAt + faultFor)}");
        Console.WriteLine($"POST latency after the window:  {Latency(faultAt + faultFor, TimeSpan.MaxValue)}");
        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=faults answered={answered.Count} refused={refused} lost={lost} duplicated={duplicated} not_sent={notSent} device_mismatch={deviceMismatch} apns_rps_before={rates.Before:F0} apns_rps_during={rates.During:F0} apns_rps_after={rates.After:F0}"));
        return lost == 0 && duplicated == 0 && notSent == 0 && deviceMismatch == 0 && refused == 0 ? 0 : 1;

        async Task<(double Before, double During, double After)> SampleRequestsAsync(HttpClient control, Stopwatch since, TimeSpan length)
        {
            var points = new List<(TimeSpan At, long Requests)>();
            while (since.Elapsed < length)
            {
                var counters = await control.GetFromJsonAsync<JsonElement>("/control/counters");
                points.Add((since.Elapsed, counters.GetProperty("requests").GetInt64()));
                await Task.Delay(250);
            }

            double Rate(TimeSpan from, TimeSpan to)
            {
                var inside = points.Where(p => p.At >= from && p.At <= to).ToList();
                return inside.Count < 2 ? 0 : (inside[^1].Requests - inside[0].Requests) / (inside[^1].At - inside[0].At).TotalSeconds;
            }

            // A second of margin on each side of the window, so the edges do not blur the figures.
            var one = TimeSpan.FromSeconds(1);
            return (Rate(one, faultAt - one), Rate(faultAt + one, faultAt + faultFor - one), Rate(faultAt + faultFor + one, length));
        }
    }

    private static async Task ScheduleFaultAsync(HttpClient control, Stopwatch clock, TimeSpan at, TimeSpan length)
    {
        await Task.Delay(at - clock.Elapsed);
        (await control.PutAsJsonAsync("/control/fault", new { kind = "Reject", status = 503, reason = "ServiceUnavailable", every = 1 })).EnsureSuccessStatusCode();
        await Task.Delay(at + length - clock.Elapsed);
        (await control.DeleteAsync("/control/fault")).EnsureSuccessStatusCode();
    }

    private sealed record Answer(Guid MessageId, Guid ApnsId, string DeviceToken, string Status, TimeSpan PostedAt, TimeSpan Latency);
}
