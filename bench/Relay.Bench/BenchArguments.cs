using System.Globalization;

namespace Relay.Bench;

/// <summary><c>--name value</c> (or <c>--name=value</c>) options, checked against what a mode accepts.</summary>
internal sealed class BenchArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    private BenchArguments()
    {
    }

    public static BenchArguments Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> options)
    {
        var parsed = new BenchArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var (name, value) = args[i].IndexOf('=', StringComparison.Ordinal) is var equals and > 0
                ? (args[i][..equals], args[i][(equals + 1)..])
                : (args[i], null);
            if (!options.Contains(name))
            {
                throw new UsageException($"Unknown argument '{args[i]}'.");
            }

            parsed._values[name] = value ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"{name} needs a value."));
        }

        return parsed;
    }

    public string Required(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new UsageException($"{name} is required.");

    public string? Optional(string name) => _values.GetValueOrDefault(name);

    public int Int(string name, int fallback, int min = 1) =>
        Optional(name) is not { } text ? fallback
        : int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min
            ? value
            : throw new UsageException($"{name} must be an integer of at least {min}, not '{text}'.");

    /// <summary>A duration such as <c>60s</c>, <c>2m</c>, <c>500ms</c> or <c>00:01:00</c>.</summary>
    public TimeSpan Duration(string name, TimeSpan fallback)
    {
        if (Optional(name) is not { } text)
        {
            return fallback;
        }

        var (number, unit) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1.0),
            _ when text.EndsWith('m') => (text[..^1], 60.0),
            _ => (text, double.NaN),
        };
        if (!double.IsNaN(unit) && double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value > 0)
        {
            return TimeSpan.FromSeconds(value * unit);
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero
            ? span
            : throw new UsageException($"{name} must be a duration such as 60s, 2m or 500ms, not '{text}'.");
    }
}

/// <summary>A command line that cannot be run; the message says why.</summary>
internal sealed class UsageException(string message) : Exception(message);
