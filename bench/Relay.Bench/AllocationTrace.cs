using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers;

namespace Relay.Bench;

/// <summary>
/// Where another process's allocations go: attaches to it over EventPipe for a while and adds up the runtime's
/// allocation ticks (one about every 100 KB a heap allocates, naming the type that crossed the line) by type. With
/// the messages it answered in that window (<c>--messages</c>, or a rate and the duration) it prints bytes per message.
/// </summary>
internal static class AllocationTrace
{
    public static IReadOnlyCollection<string> Options { get; } = ["--pid", "--duration", "--top", "--per-second", "--stacks"];

    public static async Task<int> RunAsync(BenchArguments arguments)
    {
        if (arguments.Int("--stacks", 0, min: 0) is var frames and > 0)
        {
            return await StacksAsync(arguments, frames);
        }

        var pid = arguments.Int("--pid", 0);
        var duration = arguments.Duration("--duration", TimeSpan.FromSeconds(10));
        var top = arguments.Int("--top", 30);
        var perSecond = arguments.Optional("--per-second") is { } rate ? double.Parse(rate, CultureInfo.InvariantCulture) : 0;
        var invariant = CultureInfo.InvariantCulture;

        var bytesByType = new Dictionary<string, long>(StringComparer.Ordinal);
        var client = new DiagnosticsClient(pid);
        EventPipeProvider[] providers =
        [
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC),
        ];
        using var session = client.StartEventPipeSession(providers, requestRundown: false);
        using var source = new EventPipeEventSource(session.EventStream);
        source.Clr.GCAllocationTick += tick =>
        {
            var type = tick.TypeName ?? "?";
            bytesByType[type] = bytesByType.GetValueOrDefault(type) + tick.AllocationAmount64;
        };
        var stopping = Task.Run(async () =>
        {
            await Task.Delay(duration);
            await session.StopAsync(CancellationToken.None);
        });
        source.Process();
        stopping.Wait();

        var total = bytesByType.Values.Sum();
        Console.WriteLine(string.Create(invariant, $"process {pid}: {total / 1048576.0:F0} MiB allocated in {duration.TotalSeconds:F0} s ({total / duration.TotalSeconds / 1048576.0:F1} MiB/s)"));
        if (perSecond > 0)
        {
            Console.WriteLine(string.Create(invariant, $"at {perSecond:F0} messages/s: {total / duration.TotalSeconds / perSecond:F0} B per message"));
        }

        Console.WriteLine("by type (share of sampled bytes" + (perSecond > 0 ? ", bytes per message" : "") + "):");
        foreach (var (type, bytes) in bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            var share = bytes * 100.0 / total;
            var each = perSecond > 0 ? string.Create(invariant, $"  {bytes / duration.TotalSeconds / perSecond,7:F0} B") : "";
            Console.WriteLine(string.Create(invariant, $"  {share,5:F1} %{each}  {type}"));
        }

        return 0;
    }

    /// <summary>
    /// <c>--stacks N</c>: the same ticks with their call stacks (a trace file with the runtime's method rundown, read
    /// back with TraceEvent), added up by their first N frames: which code allocates, not only what.
    /// </summary>
    private static async Task<int> StacksAsync(BenchArguments arguments, int frames)
    {
        var pid = arguments.Int("--pid", 0);
        var duration = arguments.Duration("--duration", TimeSpan.FromSeconds(10));
        var top = arguments.Int("--top", 30);
        var invariant = CultureInfo.InvariantCulture;
        var path = Path.Combine(Path.GetTempPath(), $"relay-allocs-{pid}-{Environment.ProcessId}.nettrace");
        var client = new DiagnosticsClient(pid);
        EventPipeProvider[] providers =
        [
            new("Microsoft-Windows-DotNETRuntime", EventLevel.Verbose, (long)ClrTraceEventParser.Keywords.GC),
        ];
        using (var session = client.StartEventPipeSession(providers, requestRundown: true))
        {
            await using var file = File.Create(path);
            var copying = session.EventStream.CopyToAsync(file);
            await Task.Delay(duration);
            await session.StopAsync(CancellationToken.None);
            await copying;
        }

        var bytesByStack = new Dictionary<string, long>(StringComparer.Ordinal);
        long total = 0;
        var etlx = Microsoft.Diagnostics.Tracing.Etlx.TraceLog.CreateFromEventPipeDataFile(path);
        using (var log = new Microsoft.Diagnostics.Tracing.Etlx.TraceLog(etlx))
        {
            foreach (var data in log.Events)
            {
                if (data is not Microsoft.Diagnostics.Tracing.Parsers.Clr.GCAllocationTickTraceData tick)
                {
                    continue;
                }

                var names = new List<string> { tick.TypeName ?? "?" };
                for (var frame = data.CallStack(); frame is not null && names.Count <= frames; frame = frame.Caller)
                {
                    var method = frame.CodeAddress.FullMethodName;
                    names.Add(string.IsNullOrEmpty(method) ? "?" : method);
                }

                var key = string.Join("\n      <- ", names);
                bytesByStack[key] = bytesByStack.GetValueOrDefault(key) + tick.AllocationAmount64;
                total += tick.AllocationAmount64;
            }
        }

        File.Delete(path);
        File.Delete(etlx);
        Console.WriteLine(string.Create(invariant, $"process {pid}: {total / 1048576.0:F0} MiB sampled in {duration.TotalSeconds:F0} s; by type and first {frames} frames:"));
        foreach (var (stack, bytes) in bytesByStack.OrderByDescending(p => p.Value).Take(top))
        {
            Console.WriteLine(string.Create(invariant, $"{bytes * 100.0 / total,5:F1} %  {stack}"));
        }

        return 0;
    }
}
