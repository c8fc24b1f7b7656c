using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Security.Cryptography;
using Relay.Apns;

namespace Relay.Bench;

/// <summary>
/// <c>client</c>: drives <see cref="ApnsClient"/> as the relay does — one notification per device, a fixed small
/// encrypted-alert payload — against a mock APNs running in its own process, bounded in count and in time.
/// </summary>
internal static class ClientBenchmark
{
    public static IReadOnlyCollection<string> Options { get; } =
    [
        "--endpoint", "--ca", "--key", "--team-id", "--key-id", "--topic", "-n", "--concurrency", "--connections",
        "--streams", "--duration-limit", "--warmup", "--alloc-profile",
    ];

    public static async Task<int> RunAsync(BenchArguments arguments)
    {
        var endpoint = new Uri(arguments.Required("--endpoint"));
        var total = arguments.Int("-n", 200_000);
        var concurrency = arguments.Int("--concurrency", 512);
        var limit = arguments.Duration("--duration-limit", TimeSpan.FromSeconds(60));
        var warmup = arguments.Int("--warmup", Math.Min(5_000, total), min: 0);
        var topic = arguments.Required("--topic");
        var options = new ApnsOptions
        {
            TeamId = arguments.Required("--team-id"),
            KeyId = arguments.Required("--key-id"),
            PrivateKeyPath = arguments.Required("--key"),
            TrustedCaPath = arguments.Optional("--ca"),
            ProductionEndpoint = endpoint,
            SandboxEndpoint = endpoint,
            ConnectionsPerEndpoint = arguments.Int("--connections", 2),
            MaxConcurrentStreamsPerConnection = arguments.Int("--streams", 500),
            RequestTimeout = TimeSpan.FromSeconds(15),
        };

        using var client = new ApnsClient(
            options, ApnsProviderToken.FromFile(options.TeamId, options.KeyId, options.PrivateKeyPath, TimeProvider.System), TimeProvider.System);
        var deviceToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var payload = new ApnsPayload("New message").Build(Convert.ToBase64String(RandomNumberGenerator.GetBytes(160)), Guid.NewGuid());
        var expiration = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds();
        ApnsNotification Notification() => new()
        {
            DeviceToken = deviceToken,
            Topic = topic,
            Expiration = expiration,
            Payload = payload,
        };

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Relay.Apns client benchmark: {endpoint} ({options.ConnectionsPerEndpoint} connections x {options.MaxConcurrentStreamsPerConnection} streams), " +
            $"{total} notifications of {payload.Length} bytes, {concurrency} in flight, limit {limit.TotalSeconds:0.#} s"));
        if (warmup > 0)
        {
            var warm = await RunPhaseAsync(client, Notification, Math.Min(warmup, total), concurrency, limit);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"warm-up: {warm.Accepted} accepted, {warm.Errors} errors in {warm.Elapsed.TotalSeconds:F2} s"));
        }

        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        var paused = GC.GetTotalPauseDuration();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;

        using var profile = arguments.Optional("--alloc-profile") is "true" or "1" or "yes" ? new AllocationProfile() : null;
        var run = await RunPhaseAsync(client, Notification, total, concurrency, limit);
        profile?.Dispose();

        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        allocated = GC.GetTotalAllocatedBytes(precise: false) - allocated;
        paused = GC.GetTotalPauseDuration() - paused;
        var sent = run.Accepted + run.Errors;
        var rate = run.Accepted / run.Elapsed.TotalSeconds;
        var (p50, p90, p99, max) = run.Percentiles();
        var invariant = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(invariant,
            $"sent {sent} in {run.Elapsed.TotalSeconds:F2} s{(run.StoppedByLimit ? " (stopped by the duration limit)" : "")}: {rate:F0} notifications/s accepted"));
        Console.WriteLine(string.Create(invariant, $"latency ms: p50 {p50:F2}  p90 {p90:F2}  p99 {p99:F2}  max {max:F2}"));
        Console.WriteLine(string.Create(invariant, $"answers: {run.Accepted} accepted, {run.Errors} errors{run.ErrorSummary()}"));
        Console.WriteLine(string.Create(invariant,
            $"client: {(GCSettings.IsServerGC ? "server" : "workstation")} GC, collections gen0 {GC.CollectionCount(0) - gen0} / gen1 {GC.CollectionCount(1) - gen1} / gen2 {GC.CollectionCount(2) - gen2}, " +
            $"{allocated / 1048576.0:F0} MiB allocated ({(sent == 0 ? 0 : allocated / (double)sent):F0} B/notification), GC pauses {paused.TotalMilliseconds:F0} ms, " +
            $"CPU {cpu.TotalSeconds:F1} s ({(sent == 0 ? 0 : cpu.TotalMicroseconds / sent):F0} us/notification), {Environment.ProcessorCount} cores"));
        Console.WriteLine(string.Create(invariant,
            $"RESULT mode=client sent={sent} accepted={run.Accepted} errors={run.Errors} seconds={run.Elapsed.TotalSeconds:F3} rate={rate:F0} " +
            $"p50_ms={p50:F2} p99_ms={p99:F2} max_ms={max:F2} cpu_us_per_op={(sent == 0 ? 0 : cpu.TotalMicroseconds / sent):F1} alloc_bytes_per_op={(sent == 0 ? 0 : allocated / sent)} gc0={GC.CollectionCount(0) - gen0}"));
        profile?.Print(Console.Out);
        return run.Accepted > 0 ? 0 : 1;
    }

    private static async Task<Phase> RunPhaseAsync(ApnsClient client, Func<ApnsNotification> next, int count, int concurrency, TimeSpan limit)
    {
        var phase = new Phase(count);
        using var stopIssuing = new CancellationTokenSource(limit);
        // Sends already in flight at the limit get the client's own deadline, then are cut off.
        using var hardStop = new CancellationTokenSource(limit + TimeSpan.FromSeconds(20));
        var index = -1;
        var started = Stopwatch.GetTimestamp();
        var workers = new Task[Math.Min(concurrency, count)];
        for (var w = 0; w < workers.Length; w++)
        {
            workers[w] = Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref index)) < count && !stopIssuing.IsCancellationRequested)
                {
                    var notification = next();
                    var sendStarted = Stopwatch.GetTimestamp();
                    try
                    {
                        var response = await client.SendAsync(notification, hardStop.Token);
                        phase.Record(i, Stopwatch.GetTimestamp() - sendStarted, response.IsAccepted ? null : $"{response.StatusCode} {response.ReasonText}");
                    }
                    catch (ApnsException e)
                    {
                        phase.Record(i, Stopwatch.GetTimestamp() - sendStarted, e.IsTimeout ? "timeout" : "transport");
                    }
                    catch (OperationCanceledException)
                    {
                        phase.Record(i, Stopwatch.GetTimestamp() - sendStarted, "cut off at the duration limit");
                    }
                }
            });
        }

        await Task.WhenAll(workers);
        phase.Elapsed = Stopwatch.GetElapsedTime(started);
        phase.StoppedByLimit = stopIssuing.IsCancellationRequested && Volatile.Read(ref index) < count;
        return phase;
    }

    /// <summary>One run's latencies (Stopwatch ticks, by send index; 0 = not sent) and errors by kind.</summary>
    private sealed class Phase(int count)
    {
        private readonly long[] _latencies = new long[count];
        private readonly ConcurrentDictionary<string, int> _errors = new(StringComparer.Ordinal);
        private int _accepted;
        private int _errorCount;

        public TimeSpan Elapsed { get; set; }

        public bool StoppedByLimit { get; set; }

        public int Accepted => Volatile.Read(ref _accepted);

        public int Errors => Volatile.Read(ref _errorCount);

        public void Record(int index, long ticks, string? error)
        {
            _latencies[index] = Math.Max(ticks, 1);
            if (error is null)
            {
                Interlocked.Increment(ref _accepted);
                return;
            }

            Interlocked.Increment(ref _errorCount);
            _errors.AddOrUpdate(error, 1, static (_, n) => n + 1);
        }

        public (double P50, double P90, double P99, double Max) Percentiles()
        {
            var sorted = _latencies.Where(t => t > 0).Order().ToArray();
            if (sorted.Length == 0)
            {
                return default;
            }

            double At(double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
            return (At(0.50), At(0.90), At(0.99), At(1.0));
        }

        public string ErrorSummary() =>
            _errors.IsEmpty ? "" : " (" + string.Join(", ", _errors.OrderByDescending(e => e.Value).Select(e => $"{e.Value} {e.Key}")) + ")";
    }
}
