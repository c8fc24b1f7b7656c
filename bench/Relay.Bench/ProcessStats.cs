using System.Globalization;

namespace Relay.Bench;

/// <summary>
/// CPU time and resident memory of running processes, read from /proc (Linux): a process alone, or a process with all
/// its descendants (PostgreSQL's postmaster and its backends).
/// </summary>
internal static class ProcessStats
{
    private static readonly double TicksPerSecond = 100; // USER_HZ, 100 on every Linux the bench runs on.

    /// <summary>User plus system CPU seconds of <paramref name="pid"/>, with its descendants when asked; 0 without a pid.</summary>
    public static double CpuSeconds(int pid, bool withDescendants = false)
    {
        if (pid == 0)
        {
            return 0;
        }

        var pids = withDescendants ? Descendants(pid).Append(pid) : [pid];
        var ticks = 0L;
        foreach (var p in pids)
        {
            if (Stat(p) is { } fields)
            {
                // Fields after the command: state is [0], utime [11], stime [12]; cutime [13] and cstime [14] hold the
                // children that have ended (PostgreSQL backends closed during the run), which the root counts.
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                if (withDescendants && p == pid)
                {
                    ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                }
            }
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>
    /// Resident memory of <paramref name="pid"/> in KiB: all of it (<c>VmRSS</c>, which counts the mapped framework
    /// files other .NET processes share too), its peak (<c>VmHWM</c>), or only its own anonymous memory
    /// (<c>RssAnon</c>: heaps, JIT code, stacks); 0 without a pid.
    /// </summary>
    public static long MemoryKib(int pid, bool peak = false, bool anonymous = false)
    {
        if (pid == 0)
        {
            return 0;
        }

        var key = anonymous ? "RssAnon:" : peak ? "VmHWM:" : "VmRSS:";
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private static string[]? Stat(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            // The command sits in parentheses and may hold spaces: the fields start after the last ')'.
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static List<int> Descendants(int root)
    {
        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Stat(pid) is { } fields)
            {
                var parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
                if (!children.TryGetValue(parent, out var list))
                {
                    children[parent] = list = [];
                }

                list.Add(pid);
            }
        }

        var found = new List<int>();
        var queue = new Queue<int>([root]);
        while (queue.TryDequeue(out var pid))
        {
            foreach (var child in children.GetValueOrDefault(pid, []))
            {
                found.Add(child);
                queue.Enqueue(child);
            }
        }

        return found;
    }
}
