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
/// The whole relay: many concurrent clients post messages over HTTP to a running relay (real PostgreSQL, the
/// standalone mock APNs), bounded in count and time. By default each client writes to a recipient of its own with one
/// device; with <c>--recipients N --devices D</c> every message goes to the same N recipients with D devices each (a
/// fan-out of N × D deliveries per POST). Prints messages per second, deliveries per second at the mock, and p50/p99
/// latency of the whole POST; bench/e2e.sh adds the relay's peak memory.
/// </summary>
internal static class E2eBenchmark
{
    public static IReadOnlyCollection<string> Options { get; } =
        ["--relay", "--mock", "--topic", "--clients", "--duration", "--max-messages", "--warmup", "--ciphertext-bytes", "--recipients", "--devices", "--relay-pid", "--postgres-pid", "--restart-file"];

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
        var fanOut = arguments.Optional("--recipients") is not null;
        var recipients = arguments.Int("--recipients", 1);
        var devices = arguments.Int("--devices", 1);
        var relayPid = arguments.Int("--relay-pid", 0, min: 0);
        var postgresPid = arguments.Int("--postgres-pid", 0, min: 0);
        var restartFile = arguments.Optional("--restart-file");
        var invariant = CultureInfo.InvariantCulture;

        using var http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = clients,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseCookies = false,
        })
        { BaseAddress = relay, Timeout = TimeSpan.FromSeconds(30) };
        using var mockClient = MockControl.CreateClient(mock);

        var shape = fanOut ? $"messages to {recipients} recipients x {devices} devices" : "single-recipient messages";
        Console.WriteLine(string.Create(invariant, $"Relay end-to-end benchmark: {relay} with {clients} clients, {shape} of {ciphertext.Length} base64 characters, {duration.TotalSeconds:F0} s (at most {maxMessages} messages)"));
        var setup = Stopwatch.StartNew();
        var pairs = await RelayAccounts.PairUpAsync(http, topic, clients);
        string[] to;
        if (fanOut)
        {
            to = await RelayAccounts.RecipientsAsync(http, topic, recipients, devices);
            Console.WriteLine(string.Create(invariant, $"setup: {clients} senders and {recipients} recipients with {recipients * devices} devices in {setup.Elapsed.TotalSeconds:F1} s"));
        }
        else
        {
            to = [];
            Console.WriteLine(string.Create(invariant, $"setup: {clients * 2} accounts signed in, {clients} devices registered in {setup.Elapsed.TotalSeconds:F1} s"));
        }

        var perMessage = fanOut ? recipients * devices : 1;

        // Warm-up: JIT, connection pools, PostgreSQL plans. Its rate second by second shows how long the JIT takes.
        var warming = await RunAsync(http, pairs, to, perMessage, ciphertext, warmup, int.MaxValue, recordLatency: false);
        Console.WriteLine("warm-up messages/s, second by second: " + string.Join(' ', warming.PerSecond()));

        var before = await AcceptedAsync(mockClient);
        var (relayCpu, postgresCpu) = (ProcessStats.CpuSeconds(relayPid), ProcessStats.CpuSeconds(postgresPid, withDescendants: true));
        using var sampling = new CancellationTokenSource();
        var memory = SampleMemoryAsync(relayPid, sampling.Token);
        var restartCpu = restartFile is null ? Task.FromResult(new List<double>()) : SampleRestartedCpuAsync(restartFile, sampling.Token);
        var result = await RunAsync(http, pairs, to, perMessage, ciphertext, duration, maxMessages, recordLatency: true);
        await sampling.CancelAsync();
        var rss = await memory;
        relayCpu = ProcessStats.CpuSeconds(relayPid) - relayCpu;
        postgresCpu = ProcessStats.CpuSeconds(postgresPid, withDescendants: true) - postgresCpu;
        var after = await AcceptedAsync(mockClient);

        if (restartFile is not null)
        {
            return RestartCurve(result, restartFile, await restartCpu);
        }

        var seconds = result.Elapsed.TotalSeconds;
        var latencies = result.Latencies.OrderBy(l => l).ToArray();
        double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)(p * latencies.Length))];
        Console.WriteLine(string.Create(invariant, $"sent {result.Ok} messages in {seconds:F2} s: {result.Ok / seconds:F0} messages/s; {result.Failed} failed requests, {result.Undelivered} deliveries not sent"));
        Console.WriteLine(string.Create(invariant, $"mock APNs accepted {after - before} notifications: {(after - before) / seconds:F0} deliveries/s"));
        Console.WriteLine(string.Create(invariant, $"latency ms: p50 {Percentile(0.50):F2}  p90 {Percentile(0.90):F2}  p99 {Percentile(0.99):F2}  max {(latencies.Length == 0 ? 0 : latencies[^1]):F2}"));
        if (relayPid != 0 && result.Ok > 0)
        {
            Console.WriteLine(string.Create(invariant,
                $"CPU per message: relay {relayCpu * 1e6 / result.Ok:F0} µs ({relayCpu / seconds:F2} cores), PostgreSQL {postgresCpu * 1e6 / result.Ok:F0} µs ({postgresCpu / seconds:F2} cores); relay RSS {ProcessStats.MemoryKib(relayPid) / 1024} MiB, of it anonymous {ProcessStats.MemoryKib(relayPid, anonymous: true) / 1024} MiB"));
            Console.WriteLine("relay RSS MiB every 10 s of the measured run: " + string.Join(' ', rss));
        }

        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=e2e messages_per_s={result.Ok / seconds:F0} deliveries_per_s={(after - before) / seconds:F0} p50_ms={Percentile(0.50):F2} p99_ms={Percentile(0.99):F2} failed={result.Failed + result.Undelivered}"));
        return result.Failed == 0 && result.Undelivered == 0 ? 0 : 1;
    }

    /// <summary>
    /// Posts until the time or the count runs out: each pair's sender to its own recipient, or to <paramref name="to"/>
    /// when it is not empty; a message counts as delivered when all <paramref name="perMessage"/> deliveries are sent.
    /// </summary>
    private static async Task<Run> RunAsync(
        HttpClient http, RelayAccounts.Pair[] pairs, string[] to, int perMessage, string ciphertext, TimeSpan duration, int maxMessages, bool recordLatency)
    {
        using var stop = new CancellationTokenSource(duration);
        var run = new Run();
        var remaining = maxMessages;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(pairs.Select(pair => Task.Run(async () =>
        {
            var recipients = to.Length > 0 ? string.Join(',', to.Select(id => $"\"{id}\"")) : $"\"{pair.Recipient}\"";
            var body = Encoding.UTF8.GetBytes($$"""{"to":[{{recipients}}],"ciphertext":"{{ciphertext}}"}""");
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
                        await Task.Delay(20, CancellationToken.None);
                        continue;
                    }

                    if (CountSent(text) != perMessage)
                    {
                        Interlocked.Increment(ref run.Undelivered);
                    }

                    Interlocked.Increment(ref run.Ok);
                    run.Count(clock.Elapsed);
                    if (recordLatency)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }
                catch (HttpRequestException)
                {
                    // Refused while a relay restarts (MODE=restart): wait a little rather than spin.
                    Interlocked.Increment(ref run.Failed);
                    await Task.Delay(20, CancellationToken.None);
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

    /// <summary>
    /// MODE=restart: once the script wrote <paramref name="restartFile"/> ("stopped exited started pid"), the new
    /// relay's CPU seconds in each second from its start, until cancelled.
    /// </summary>
    private static async Task<List<double>> SampleRestartedCpuAsync(string restartFile, CancellationToken cancellationToken)
    {
        var perSecond = new List<double>();
        try
        {
            string[] fields;
            while ((fields = File.Exists(restartFile) ? File.ReadAllText(restartFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : []).Length < 4)
            {
                await Task.Delay(50, cancellationToken);
            }

            var started = long.Parse(fields[2], CultureInfo.InvariantCulture);
            var pid = int.Parse(fields[3], CultureInfo.InvariantCulture);
            var last = 0.0;
            for (var second = 1; ; second++)
            {
                var wait = started + second * 1_000L - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(wait), cancellationToken);
                }

                var cpu = ProcessStats.CpuSeconds(pid);
                perSecond.Add(cpu - last);
                last = cpu;
            }
        }
        catch (OperationCanceledException)
        {
        }

        return perSecond;
    }

    /// <summary>The relay's RSS in MiB every 10 s until cancelled: whether memory stays flat under sustained load.</summary>
    private static async Task<List<long>> SampleMemoryAsync(int pid, CancellationToken cancellationToken)
    {
        var samples = new List<long>();
        if (pid == 0)
        {
            return samples;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(10));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                samples.Add(ProcessStats.MemoryKib(pid) / 1024);
            }
        }
        catch (OperationCanceledException)
        {
        }

        return samples;
    }

    /// <summary>
    /// MODE=restart: the script stopped the warm relay during the measured run and started a fresh one under the same
    /// load, and wrote the times (Unix ms) and its pid to <paramref name="restartFile"/>: "stopped exited started pid". Prints the warm
    /// relay's rate before the stop, then the new relay's rate second by second from its start, against the warm rate.
    /// </summary>
    private static int RestartCurve(Run run, string restartFile, List<double> cpuPerSecond)
    {
        var invariant = CultureInfo.InvariantCulture;
        var times = File.ReadAllText(restartFile).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => long.Parse(t, invariant)).ToArray();
        var (stopped, exited, started) = (times[0] - run.StartUnixMs, times[1] - run.StartUnixMs, times[2] - run.StartUnixMs);

        // The warm relay: from the first whole second of the measured run to the second before it was told to stop.
        var warmSeconds = (int)(stopped / 1000) - 1;
        var warm = warmSeconds > 0 ? run.Between(1_000, warmSeconds * 1_000L) / (double)(warmSeconds - 1) : 0;
        var curveSeconds = (int)((run.Elapsed.TotalMilliseconds - started) / 1000);
        var curve = Enumerable.Range(0, Math.Max(0, curveSeconds))
            .Select(s => run.Between(started + s * 1_000L, started + (s + 1) * 1_000L)).ToArray();
        var firstAnswer = run.FirstAfter(started);
        var reached = Array.FindIndex(curve, c => c >= 0.8 * warm);
        var late = curve.Length >= 30 ? curve[20..30].Average() : double.NaN;

        Console.WriteLine(string.Create(invariant, $"warm relay before the stop: {warm:F0} messages/s (seconds 1-{warmSeconds} of the measured run)"));
        Console.WriteLine(string.Create(invariant, $"stop (SIGTERM) to exit: {(exited - stopped) / 1000.0:F1} s; new relay started, first answer {(firstAnswer - started) / 1000.0:F1} s after its start"));
        Console.WriteLine("new relay messages/s, second by second from its start: " + string.Join(' ', curve));
        Console.WriteLine("as a share of the warm rate: " + string.Join(' ', curve.Select(c => (c / warm).ToString("F2", invariant))));
        Console.WriteLine("new relay CPU per message (µs), second by second: " + string.Join(' ', cpuPerSecond.Zip(curve)
            .Select(p => p.Second == 0 ? "-" : (p.First * 1e6 / p.Second).ToString("F0", invariant))));
        Console.WriteLine(string.Create(invariant, $"new relay, seconds 20-30 after its start: {late:F0} messages/s ({late / warm:F2} of the warm rate)"));
        Console.WriteLine(string.Create(invariant, $"first second at 0.8 of the warm rate or more: {(reached < 0 ? "none" : $"second {reached} after start")}"));
        var first5 = curve.Length >= 5 ? curve[..5].Sum() / 5.0 : double.NaN;
        var fifth = curve.Length > 5 ? curve[5] : 0;
        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=restart warm_per_s={warm:F0} second5_per_s={fifth} second5_share={fifth / warm:F2} first5_mean_share={first5 / warm:F2} reached_0_8_at_s={reached} first_answer_s={(firstAnswer - started) / 1000.0:F1}"));
        return 0;
    }

    private static int CountSent(string answer)
    {
        var count = 0;
        for (var at = answer.IndexOf("\"status\":\"sent\"", StringComparison.Ordinal); at >= 0; at = answer.IndexOf("\"status\":\"sent\"", at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
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

        /// <summary>When the run started, in Unix milliseconds: the zero of <see cref="Between"/>.</summary>
        public long StartUnixMs { get; } = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        private readonly long[] _perSecond = new long[3_600];
        private readonly long[] _perTenth = new long[36_000];

        /// <summary>One answered message, in the second (and the tenth of a second) of the run it was answered.</summary>
        public void Count(TimeSpan at)
        {
            var second = (int)at.TotalSeconds;
            if (second < _perSecond.Length)
            {
                Interlocked.Increment(ref _perSecond[second]);
            }

            var tenth = (int)(at.TotalMilliseconds / 100);
            if (tenth < _perTenth.Length)
            {
                Interlocked.Increment(ref _perTenth[tenth]);
            }
        }

        /// <summary>Messages answered from <paramref name="fromMs"/> to <paramref name="toMs"/> into the run (to 0.1 s).</summary>
        public long Between(long fromMs, long toMs)
        {
            var (from, to) = ((int)Math.Clamp(fromMs / 100, 0, _perTenth.Length), (int)Math.Clamp(toMs / 100, 0, _perTenth.Length));
            return from >= to ? 0 : _perTenth[from..to].Sum();
        }

        /// <summary>The start (ms into the run) of the first tenth of a second at or after <paramref name="ms"/> that answered anything.</summary>
        public long FirstAfter(long ms)
        {
            for (var tenth = (int)Math.Max(0, ms / 100); tenth < _perTenth.Length; tenth++)
            {
                if (_perTenth[tenth] > 0)
                {
                    return tenth * 100L;
                }
            }

            return -1;
        }

        /// <summary>Answered messages in each whole second of the run.</summary>
        public IEnumerable<long> PerSecond() => _perSecond.Take((int)Elapsed.TotalSeconds);
    }
}
