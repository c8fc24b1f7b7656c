using System.CommandLine;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace Relay.Ctl;

/// <summary>
/// The options that say where the relay's settings are. Configuration is read as the relay reads it: an optional
/// JSON file in the shape of appsettings.json, then environment variables (<c>Apns__KeyId</c>), then these explicit
/// options, which win. The file is <c>--config</c>, else the one <c>RELAYCTL_CONFIG</c> names, else
/// <c>.dev/relayctl.json</c> in the current directory if there is one: the local stack's settings, which
/// <c>scripts/run.sh</c> writes there.
/// </summary>
internal sealed class SettingsOptions
{
    /// <summary>The environment variable that names the settings file when there is no <c>--config</c>.</summary>
    public const string ConfigVariable = "RELAYCTL_CONFIG";

    /// <summary>The settings file read when neither <c>--config</c> nor <c>RELAYCTL_CONFIG</c> names one, if it exists.</summary>
    public static readonly string DefaultConfig = Path.Combine(".dev", "relayctl.json");

    private readonly Option<string?> _config = new("--config")
    {
        Description = $"An appsettings.json to read (default: ${ConfigVariable}, else {DefaultConfig} if it exists); "
            + "environment variables and the options below override it.",
        HelpName = "appsettings.json",
    };

    private readonly List<(Option<string?> Option, string Key)> _overrides = [];

    /// <summary>
    /// Adds the options to <paramref name="command"/>, after its own: <c>--config</c>, the database's if
    /// <paramref name="database"/>, and the APNs ones if <paramref name="apns"/>.
    /// </summary>
    public SettingsOptions(Command command, bool apns, bool database = true)
    {
        command.Options.Add(_config);
        if (database)
        {
            Add(command, "--connection-string", "connection-string", "ConnectionStrings:Relay", "the PostgreSQL connection string");
        }

        if (apns)
        {
            Add(command, "--team-id", "id", "Apns:TeamId", "the APNs Team ID");
            Add(command, "--key-id", "id", "Apns:KeyId", "the Key ID of the .p8 key");
            Add(command, "--key", "file.p8", "Apns:PrivateKeyPath", "the path of the .p8 signing key");
            Add(command, "--production-endpoint", "url", "Apns:ProductionEndpoint", "the production APNs endpoint");
            Add(command, "--sandbox-endpoint", "url", "Apns:SandboxEndpoint", "the sandbox APNs endpoint");
            Add(command, "--ca", "ca.pem", "Apns:TrustedCaPath", "an extra CA (PEM) to trust, for a mock or staging APNs");
        }
    }

    /// <summary>The configuration for this invocation.</summary>
    /// <exception cref="CtlException">The settings file named by <c>--config</c> or <c>RELAYCTL_CONFIG</c> cannot be read.</exception>
    public IConfiguration Read(ParseResult parse, CtlConsole console)
    {
        var builder = new ConfigurationBuilder();
        var (file, source) = ConfigFile(parse, console);
        if (file is not null)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                throw new CtlException($"{source}: cannot read '{file}' (FileNotFoundException).");
            }

            builder.AddJsonFile(path, optional: false, reloadOnChange: false);
        }

        if (console.Environment is null)
        {
            builder.AddEnvironmentVariables();
        }
        else
        {
            // The same mapping as the environment variables provider: '__' separates sections.
            builder.AddInMemoryCollection(console.Environment.Select(e =>
                new KeyValuePair<string, string?>(e.Key.Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal), e.Value)));
        }

        builder.AddInMemoryCollection(_overrides
            .Select(o => (o.Key, Value: parse.GetValue(o.Option)))
            .Where(o => o.Value is not null)
            .Select(o => new KeyValuePair<string, string?>(o.Key, o.Value)));
        try
        {
            return builder.Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or JsonException or IOException)
        {
            throw new CtlException($"{source}: '{file}' is not a readable JSON configuration file ({e.GetType().Name}).");
        }
    }

    /// <summary>The settings file to read, if any, and what named it.</summary>
    private (string? File, string Source) ConfigFile(ParseResult parse, CtlConsole console)
    {
        if (parse.GetValue(_config) is { } option)
        {
            return (option, "--config");
        }

        if (console.GetEnvironmentVariable(ConfigVariable) is { Length: > 0 } variable)
        {
            return (variable, ConfigVariable);
        }

        return File.Exists(DefaultConfig) ? (DefaultConfig, DefaultConfig) : (null, "");
    }

    private void Add(Command command, string name, string helpName, string key, string what)
    {
        var option = new Option<string?>(name) { Description = $"{key}: {what}.", HelpName = helpName };
        command.Options.Add(option);
        _overrides.Add((option, key));
    }
}
