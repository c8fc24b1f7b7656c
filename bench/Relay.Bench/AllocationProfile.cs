using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Relay.Bench;

/// <summary>
/// Samples the runtime's allocation ticks (one event about every 100 KB allocated) by type, to see where a run's
/// allocations go without an external profiler. Turned on with <c>--alloc-profile</c>.
/// </summary>
internal sealed class AllocationProfile : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _poolStacks = new(StringComparer.Ordinal);

    [ThreadStatic]
    private static bool t_inside;

    public void Print(TextWriter writer, int top = 25)
    {
        foreach (var (stack, n) in _poolStacks.OrderByDescending(p => p.Value).Take(5))
        {
            writer.WriteLine(n.ToString(CultureInfo.InvariantCulture) + " x " + stack);
        }

        var total = _bytesByType.Values.Sum();
        writer.WriteLine("allocation samples by type (share of sampled bytes):");
        foreach (var (type, bytes) in _bytesByType.OrderByDescending(p => p.Value).Take(top))
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {100.0 * bytes / total,5:F1}%  {type}"));
        }
    }

    private static string Bucket(long size) => size switch
    {
        < 0 => "?",
        <= 256 => "<=256",
        <= 1024 => "<=1K",
        <= 4096 => "<=4K",
        <= 16384 => "<=16K",
        <= 65536 => "<=64K",
        _ => ">64K",
    };

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
        else if (eventSource.Name == "System.Buffers.ArrayPoolEventSource")
        {
            EnableEvents(eventSource, EventLevel.Informational);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName == "BufferAllocated" && eventData.Payload is { } pool)
        {
            var reason = eventData.PayloadNames!.IndexOf("reason") is var r and >= 0 ? pool[r] : "?";
            var bufferSize = eventData.PayloadNames.IndexOf("bufferSize") is var b and >= 0 ? Convert.ToInt64(pool[b], CultureInfo.InvariantCulture) : 0;
            // No interpolation here: its handler rents from ArrayPool, which would raise this event again.
            var poolKey = string.Concat("(ArrayPool.Shared allocated ", bufferSize.ToString(CultureInfo.InvariantCulture), " bytes: ", Convert.ToString(reason, CultureInfo.InvariantCulture), ")");
            _bytesByType.AddOrUpdate(poolKey, bufferSize, (_, sum) => sum + bufferSize);
            if (!t_inside && _poolStacks.Count < 50)
            {
                t_inside = true;
                var frames = new System.Diagnostics.StackTrace(2, false).GetFrames()
                    .Select(f => f.GetMethod())
                    .Where(m => m?.DeclaringType?.Namespace?.StartsWith("System.Diagnostics.Tracing", StringComparison.Ordinal) != true)
                    .Take(14)
                    .Select(m => m?.DeclaringType?.Name + "." + m?.Name);
                var stack = string.Join(" < ", frames);
                _poolStacks.AddOrUpdate(stack, 1, (_, n) => n + 1);
                t_inside = false;
            }

            return;
        }

        if (eventData.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var typeName = eventData.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? eventData.Payload[t] as string : null;
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(eventData.Payload[a], CultureInfo.InvariantCulture) : 100_000;
        var size = eventData.PayloadNames.IndexOf("ObjectSize") is var o and >= 0 ? Convert.ToInt64(eventData.Payload[o], CultureInfo.InvariantCulture) : -1;
        var key = typeName is "System.Byte[]" or "System.String" ? $"{typeName} of {Bucket(size)} bytes" : typeName ?? "?";
        _bytesByType.AddOrUpdate(key, amount, (_, sum) => sum + amount);
    }
}
