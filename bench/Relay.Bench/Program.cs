using Relay.Bench;

// One mode per file: `client` (Relay.Apns alone), `e2e` (the whole relay), `faults` (the relay through an APNs
// outage), `realtime` (the hub), `allocs` (another process's allocations by type), `jwt` (a token for h2load).
return args switch
{
    ["client", .. var rest] => await Run(() => ClientBenchmark.RunAsync(BenchArguments.Parse(rest, ClientBenchmark.Options))),
    ["e2e", .. var rest] => await Run(() => E2eBenchmark.RunAsync(BenchArguments.Parse(rest, E2eBenchmark.Options))),
    ["faults", .. var rest] => await Run(() => FaultBenchmark.RunAsync(BenchArguments.Parse(rest, FaultBenchmark.Options))),
    ["realtime", .. var rest] => await Run(() => RealtimeBenchmark.RunAsync(BenchArguments.Parse(rest, RealtimeBenchmark.Options))),
    ["allocs", .. var rest] => await Run(() => AllocationTrace.RunAsync(BenchArguments.Parse(rest, AllocationTrace.Options))),
    ["jwt", .. var rest] => await Run(() => Task.FromResult(JwtCommand.Run(BenchArguments.Parse(rest, JwtCommand.Options)))),
    [] or ["help" or "--help" or "-h"] => Usage(Console.Out, 0),
    _ => Usage(Console.Error, 2),
};

static async Task<int> Run(Func<Task<int>> mode)
{
    try
    {
        return await mode();
    }
    catch (UsageException e)
    {
        await Console.Error.WriteLineAsync(e.Message);
        return Usage(Console.Error, 2);
    }
}

static int Usage(TextWriter writer, int exitCode)
{
    writer.WriteLine("""
        Usage:
          Relay.Bench client --endpoint https://127.0.0.1:2197 --ca ca.pem --key apns-key.p8 --team-id T --key-id K
                             --topic com.example.chat [-n 200000] [--concurrency 512] [--connections 2]
                             [--streams 500] [--duration-limit 60s] [--warmup 5000] [--alloc-profile true]
              Sends n notifications through Relay.Apns's ApnsClient to a running (standalone) mock APNs, at most
              --concurrency in flight, stopping after --duration-limit; prints notifications/second, latency
              percentiles, errors and the client's GC figures; --alloc-profile samples allocations by type.
          Relay.Bench e2e --relay http://127.0.0.1:5090 --mock https://127.0.0.1:2199 [--topic com.example.chat]
                          [--clients 64] [--duration 20s] [--max-messages 1000000] [--warmup 3s] [--ciphertext-bytes 256]
              Signs up 2 x clients accounts on a running relay, registers a device for each recipient, then has
              every client post single-recipient messages until the duration or the count runs out; prints
              messages/second, deliveries/second at the mock and latency percentiles (bench/e2e.sh runs it all).
          Relay.Bench faults --relay http://127.0.0.1:5090 --mock https://127.0.0.1:2199 [--topic com.example.chat]
                             [--clients 32] [--rate 500] [--duration 30s] [--fault-at 10s] [--fault-for 10s]
                             [--settle-timeout 120s]
              Posts rate x duration single-recipient messages while the mock answers every push 503 for a window,
              waits until every delivery is final, then counts deliveries lost and duplicated at the mock (which
              must record: bench/e2e.sh with MODE=faults) and the APNs request rate before, during and after.
          Relay.Bench realtime --relay http://127.0.0.1:5090 --mock https://127.0.0.1:2199 [--topic com.example.chat]
                               [--idle 10000] [--active 64] [--rate 500] [--duration 20s] [--relay-pid PID]
                               [--devices-per-account 10]
              Holds --idle connected devices open, connects --active recipients that acknowledge every message,
              posts rate x duration messages to them; prints POST -> Message latency, the POST rate with no APNs
              push, and the relay's RSS per 1,000 idle connections (bench/e2e.sh with MODE=realtime).
          Relay.Bench allocs --pid PID [--duration 10s] [--top 30] [--per-second 2000]
              Attaches to a running .NET process (the relay under bench/e2e.sh) over EventPipe and adds up its
              allocation ticks by type for the duration; with the messages per second it answered, bytes per message.
          Relay.Bench jwt --key apns-key.p8 --team-id T --key-id K
              Prints one provider token (ES256 JWT) for h2load and curl.
        """);
    return exitCode;
}
