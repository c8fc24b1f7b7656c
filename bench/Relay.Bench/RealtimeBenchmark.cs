using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;

namespace Relay.Bench;

/// <summary>
/// The realtime channel: many idle device connections held open, plus active recipients whose devices acknowledge
/// every message; senders post at a fixed rate. Prints POST → <c>Message</c> latency, the POST rate sustained with no
/// APNs push at all, and the relay's memory per 1,000 idle connections (from /proc, given the relay's pid).
/// </summary>
internal static class RealtimeBenchmark
{
    public static IReadOnlyCollection<string> Options { get; } =
        ["--relay", "--mock", "--topic", "--idle", "--active", "--rate", "--duration", "--relay-pid", "--devices-per-account"];

    public static async Task<int> RunAsync(BenchArguments arguments)
    {
        var relay = new Uri(arguments.Required("--relay"));
        var mock = new Uri(arguments.Required("--mock"));
        var topic = arguments.Optional("--topic") ?? "com.example.chat";
        var idle = arguments.Int("--idle", 10_000, min: 0);
        var active = arguments.Int("--active", 64);
        var rate = arguments.Int("--rate", 500);
        var duration = arguments.Duration("--duration", TimeSpan.FromSeconds(20));
        var relayPid = arguments.Int("--relay-pid", 0, min: 0);
        var perAccount = arguments.Int("--devices-per-account", 10);
        var invariant = CultureInfo.InvariantCulture;
        var ciphertext = Convert.ToBase64String(RandomNumberGenerator.GetBytes(256));

        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 256, UseCookies = false })
        { BaseAddress = relay, Timeout = TimeSpan.FromSeconds(60) };
        using var mockClient = MockControl.CreateClient(mock);
        Console.WriteLine(string.Create(invariant,
            $"Relay realtime benchmark: {relay}, {idle} idle connections, {active} active recipients that acknowledge, {rate} messages/s for {duration.TotalSeconds:F0} s"));

        // Idle devices: perAccount devices on each account, each connected and doing nothing.
        var rssBefore = ProcessStats.MemoryKib(relayPid);
        var setup = Stopwatch.StartNew();
        var idleAccounts = (idle + perAccount - 1) / perAccount;
        var idleConnections = new ConcurrentBag<HubConnection>();
        await Parallel.ForAsync(0, idleAccounts, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (a, ct) =>
        {
            var account = await RelayAccounts.SignUpAsync(http, ct);
            for (var d = 0; d < perAccount && a * perAccount + d < idle; d++)
            {
                var deviceId = await RelayAccounts.RegisterDeviceAsync(http, account.Token, topic, ct);
                var connection = Connect(relay, account.Token, deviceId);
                await connection.StartAsync(ct);
                idleConnections.Add(connection);
            }
        });
        await Task.Delay(TimeSpan.FromSeconds(3));
        var rssIdle = ProcessStats.MemoryKib(relayPid);
        Console.WriteLine(string.Create(invariant, $"idle: {idleConnections.Count} connections open in {setup.Elapsed.TotalSeconds:F1} s"));

        // Active recipients: one device each, connected, acknowledging what arrives and timing it.
        var pairs = await RelayAccounts.PairUpAsync(http, topic, active);
        // A message usually arrives before its POST is answered (the answer waits for the ack), but not always: whichever
        // side comes second records the latency.
        var posted = new Dictionary<Guid, long>();
        var arrivals = new Dictionary<Guid, long>();
        var latencies = new ConcurrentBag<double>();
        void Match(Guid id, long timestamp, bool isArrival)
        {
            lock (posted)
            {
                var (mine, theirs) = isArrival ? (arrivals, posted) : (posted, arrivals);
                if (theirs.Remove(id, out var other))
                {
                    var (start, end) = isArrival ? (other, timestamp) : (timestamp, other);
                    latencies.Add(Stopwatch.GetElapsedTime(start, end).TotalMilliseconds);
                }
                else
                {
                    mine[id] = timestamp;
                }
            }
        }

        var activeConnections = new List<HubConnection>();
        foreach (var pair in pairs)
        {
            var connection = Connect(relay, pair.RecipientToken, pair.DeviceId);
            connection.On<JsonElement>("Message", async message =>
            {
                var arrived = Stopwatch.GetTimestamp();
                var id = message.GetProperty("messageId").GetGuid();
                Match(id, arrived, isArrival: true);
                await connection.InvokeAsync<int>("Ack", new[] { id });
            });
            await connection.StartAsync();
            activeConnections.Add(connection);
        }

        var acceptedBefore = await AcceptedAsync(mockClient);
        var total = (int)(rate * duration.TotalSeconds);
        var next = -1;
        long ok = 0, failed = 0, delivered = 0;
        var postLatencies = new ConcurrentBag<double>();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(pairs.Select(pair => Task.Run(async () =>
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
                var start = Stopwatch.GetTimestamp();
                using var response = await http.SendAsync(request);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failed);
                    continue;
                }

                postLatencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                var json = await response.Content.ReadFromJsonAsync<JsonElement>();
                var id = json.GetProperty("messageId").GetGuid();
                if (json.GetProperty("deliveries")[0].GetProperty("status").GetString() == "delivered")
                {
                    Interlocked.Increment(ref delivered);
                }

                Match(id, start, isArrival: false);
                Interlocked.Increment(ref ok);
            }
        })));
        var seconds = clock.Elapsed.TotalSeconds;
        await Task.Delay(TimeSpan.FromSeconds(2));
        var pushes = await AcceptedAsync(mockClient) - acceptedBefore;
        var rssEnd = ProcessStats.MemoryKib(relayPid);

        double Percentile(double[] sorted, double p) => sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        var arrival = latencies.Order().ToArray();
        var posts = postLatencies.Order().ToArray();
        var perThousand = idleConnections.IsEmpty || rssBefore == 0 ? 0 : (rssIdle - rssBefore) / 1024.0 / (idleConnections.Count / 1000.0);
        Console.WriteLine(string.Create(invariant,
            $"posted {ok} in {seconds:F1} s: {ok / seconds:F0} messages/s, {failed} failed, {delivered} answered delivered; APNs pushes: {pushes}"));
        Console.WriteLine(string.Create(invariant,
            $"POST -> Message ms: p50 {Percentile(arrival, 0.5):F2}  p99 {Percentile(arrival, 0.99):F2}  ({arrival.Length} timed); whole POST ms: p50 {Percentile(posts, 0.5):F2}  p99 {Percentile(posts, 0.99):F2}"));
        Console.WriteLine(string.Create(invariant,
            $"relay RSS: {rssBefore / 1024.0:F0} MiB before, {rssIdle / 1024.0:F0} MiB with {idleConnections.Count} idle connections ({perThousand:F1} MiB per 1,000), {rssEnd / 1024.0:F0} MiB at the end"));
        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=realtime idle={idleConnections.Count} messages_per_s={ok / seconds:F0} failed={failed} delivered={delivered} pushes={pushes} arrival_p50_ms={Percentile(arrival, 0.5):F2} arrival_p99_ms={Percentile(arrival, 0.99):F2} post_p99_ms={Percentile(posts, 0.99):F2} rss_per_1000_idle_mib={perThousand:F1}"));

        foreach (var connection in activeConnections.Concat(idleConnections))
        {
            await connection.DisposeAsync();
        }

        return failed == 0 && pushes == 0 && delivered == ok ? 0 : 1;
    }

    private static HubConnection Connect(Uri relay, string token, Guid deviceId) => new HubConnectionBuilder()
        .WithUrl(new Uri(relay, $"/v1/realtime?deviceId={deviceId:D}"), options =>
        {
            options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            options.Transports = HttpTransportType.WebSockets;
            options.SkipNegotiation = true;
        })
        .Build();

    private static async Task<long> AcceptedAsync(HttpClient mock)
    {
        var counters = await mock.GetFromJsonAsync<JsonElement>("/control/counters");
        return counters.GetProperty("accepted").GetInt64();
    }
}
