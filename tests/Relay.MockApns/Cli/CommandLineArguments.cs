namespace Relay.MockApns.Cli;

/// <summary><c>--name value</c> options and <c>--flag</c> switches, checked against what a command accepts.</summary>
internal sealed class CommandLineArguments
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    private CommandLineArguments()
    {
    }

    public static CommandLineArguments Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> options, IReadOnlyCollection<string> flags)
    {
        var parsed = new CommandLineArguments();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? arg[..equals] : arg;
            if (flags.Contains(name) && equals < 0)
            {
                parsed._flags.Add(name);
            }
            else if (options.Contains(name))
            {
                if (equals > 0)
                {
                    parsed._values[name] = arg[(equals + 1)..];
                }
                else if (i + 1 < args.Count)
                {
                    parsed._values[name] = args[++i];
                }
                else
                {
                    throw new UsageException($"{name} needs a value.");
                }
            }
            else
            {
                throw new UsageException($"Unknown argument '{arg}'.");
            }
        }

        return parsed;
    }

    /// <summary>The option, else the environment variable, else null.</summary>
    public string? Get(string option, string? environmentVariable = null)
    {
        if (_values.TryGetValue(option, out var value))
        {
            return value;
        }

        var fromEnvironment = environmentVariable is null ? null : Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrWhiteSpace(fromEnvironment) ? null : fromEnvironment.Trim();
    }

    /// <summary>The switch, else a true/1/yes environment variable.</summary>
    public bool Has(string flag, string? environmentVariable = null) =>
        _flags.Contains(flag) ||
        (environmentVariable is not null &&
            Environment.GetEnvironmentVariable(environmentVariable)?.Trim().ToUpperInvariant() is "TRUE" or "1" or "YES");
}

/// <summary>A command line that cannot be run; the message says why.</summary>
internal sealed class UsageException(string message) : Exception(message);
