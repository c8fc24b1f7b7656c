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
/// The whole relay: many concurrent clients post single-recipient messages over HTTP to a running relay (real
/// PostgreSQL, the standalone mock APNs), bounded in count and time. Prints messages per second, deliveries per second
/// at the mock, and p50/p99 latency; bench/e2e.sh adds the relay's peak memory.
/// </summary>
internal static class E2eBenchmark
{
    public static IReadOnlyCollection<string> Options { get; } =
        ["--relay", "--mock", "--topic", "--clients", "--duration", "--max-messages", "--warmup", "--ciphertext-bytes"];

    public static async Task<int> RunAsync(BenchArguments arguments)
    {
        var relay = new Uri(arguments.Required("--relay"));
        var mock = new Uri(arguments.Required("--mock"));
        var topic = arguments.Optional("--topic") ?? "com.example.chat";
        var clients = arguments.Int("--clients", 64);
        var duration = arguments.Duration("--duration", TimeSpan.FromSeconds(20));
        var maxMessages = arguments.Int("--max-messages", 1_000_000);
        var warmup = arguments.Duration("--warmup", TimeSpan.FromSeconds(3));
        var ciphertext = Convert.ToBase64String(RandomNumberGenerator.GetBytes(arguments.Int("--ciphertext-bytes", 256)));
        var invariant = CultureInfo.InvariantCulture;

        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = clients,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseCookies = false,
        })
        { BaseAddress = relay, Timeout = TimeSpan.FromSeconds(30) };
        using var mockClient = MockControl.CreateClient(mock);

        Console.WriteLine(string.Create(invariant, $"Relay end-to-end benchmark: {relay} with {clients} clients, single-recipient messages of {ciphertext.Length} base64 characters, {duration.TotalSeconds:F0} s (at most {maxMessages} messages)"));
        var setup = Stopwatch.StartNew();
        var pairs = await RelayAccounts.PairUpAsync(http, topic, clients);
        Console.WriteLine(string.Create(invariant, $"setup: {clients * 2} accounts signed in, {clients} devices registered in {setup.Elapsed.TotalSeconds:F1} s"));

        // Warm-up: JIT, connection pools, PostgreSQL plans.
        await RunAsync(http, pairs, ciphertext, warmup, int.MaxValue, recordLatency: false);

        var before = await AcceptedAsync(mockClient);
        var result = await RunAsync(http, pairs, ciphertext, duration, maxMessages, recordLatency: true);
        var after = await AcceptedAsync(mockClient);

        var seconds = result.Elapsed.TotalSeconds;
        var latencies = result.Latencies.OrderBy(l => l).ToArray();
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))];
        Console.WriteLine(string.Create(invariant, $"sent {result.Ok} messages in {seconds:F2} s: {result.Ok / seconds:F0} messages/s; {result.Failed} failed requests, {result.Undelivered} deliveries not sent"));
        Console.WriteLine(string.Create(invariant, $"mock APNs accepted {after - before} notifications: {(after - before) / seconds:F0} deliveries/s"));
        Console.WriteLine(string.Create(invariant, $"latency ms: p50 {Percentile(0.50):F2}  p90 {Percentile(0.90):F2}  p99 {Percentile(0.99):F2}  max {(latencies.Length == 0 ? 0 : latencies[^1]):F2}"));
        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=e2e messages_per_s={result.Ok / seconds:F0} deliveries_per_s={(after - before) / seconds:F0} p50_ms={Percentile(0.50):F2} p99_ms={Percentile(0.99):F2} failed={result.Failed + result.Undelivered}"));
        return result.Failed == 0 && result.Undelivered == 0 ? 0 : 1;
    }

    private static async Task<Run> RunAsync(HttpClient http, RelayAccounts.Pair[] pairs, string ciphertext, TimeSpan duration, int maxMessages, bool recordLatency)
    {
        using var stop = new CancellationTokenSource(duration);
        var run = new Run();
        var remaining = maxMessages;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(pairs.Select(pair => Task.Run(async () =>
        {
            var body = Encoding.UTF8.GetBytes($$"""{"to":["{{pair.Recipient}}"],"ciphertext":"{{ciphertext}}"}""");
            var latencies = new List<double>(16_384);
            while (!stop.IsCancellationRequested && Interlocked.Decrement(ref remaining) >= 0)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", pair.SenderToken);
                var started = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    var text = await response.Content.ReadAsStringAsync(CancellationToken.None);
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        Interlocked.Increment(ref run.Failed);
                        continue;
                    }

                    if (!text.Contains("\"status\":\"sent\"", StringComparison.Ordinal))
                    {
                        Interlocked.Increment(ref run.Undelivered);
                    }

                    Interlocked.Increment(ref run.Ok);
                    if (recordLatency)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
                catch (HttpRequestException)
                {
                    Interlocked.Increment(ref run.Failed);
                }
            }

            lock (run.Latencies)
            {
                run.Latencies.AddRange(latencies);
            }
        }))).ConfigureAwait(false);
        run.Elapsed = clock.Elapsed;
        return run;
    }

    private static async Task<long> AcceptedAsync(HttpClient mock)
    {
        var counters = await mock.GetFromJsonAsync<JsonElement>("/control/counters");
        return counters.GetProperty("accepted").GetInt64();
    }

    private sealed class Run
    {
        public long Ok;
        public long Failed;
        public long Undelivered;
        public TimeSpan Elapsed;
        public List<double> Latencies { get; } = [];
    }
}
