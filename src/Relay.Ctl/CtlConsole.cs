using System.Text.RegularExpressions;

namespace Relay.Ctl;

/// <summary>Where a command writes, and the environment it reads configuration from.</summary>
internal sealed partial class CtlConsole(TextWriter output, TextWriter error, IReadOnlyDictionary<string, string?>? environment)
{
    public TextWriter Out { get; } = output;

    /// <summary>The environment variables to read, or <see langword="null"/> for the process's own.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; } = environment;

    /// <summary>One variable of <see cref="Environment"/>, or of the process's own environment.</summary>
    public string? GetEnvironmentVariable(string name) =>
        Environment is null ? System.Environment.GetEnvironmentVariable(name) : Environment.GetValueOrDefault(name);

    /// <summary>Writes one failure line on stderr: <c>relayctl: message</c>.</summary>
    public void Fail(string message) => error.WriteLine("relayctl: " + message.ReplaceLineEndings(" "));

    /// <summary>
    /// For messages relayctl did not write itself (an unexpected exception's): a whole device token keeps its first 8
    /// hex digits, a JWT and a connection string's password disappear.
    /// </summary>
    public static string Redact(string text)
    {
        text = HexRun().Replace(text, m => m.Value[..8] + "…");
        text = Jwt().Replace(text, "[token]");
        return Password().Replace(text, "$1=***");
    }

    [GeneratedRegex("[0-9a-fA-F]{32,}")]
    private static partial Regex HexRun();

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")]
    private static partial Regex Jwt();

    [GeneratedRegex("(?i)(password|pwd)=[^;]*")]
    private static partial Regex Password();
}
