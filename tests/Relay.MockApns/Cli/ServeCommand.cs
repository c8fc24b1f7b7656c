using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;

namespace Relay.MockApns.Cli;

/// <summary><c>serve</c>: runs a <see cref="MockApnsServer"/> until Ctrl-C or SIGTERM.</summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var arguments = CommandLineArguments.Parse(
            args,
            ["--certs", "--host", "--port", "--team-id", "--key-id", "--topics"],
            ["--one-stream-rule", "--token-update-rate", "--no-record-bodies", "--no-record", "--generate"]);

        var directory = arguments.Get("--certs", "MOCKAPNS_CERTS") ?? throw new UsageException("serve needs --certs <dir>.");
        var hostText = arguments.Get("--host", "MOCKAPNS_HOST") ?? "127.0.0.1";
        var portText = arguments.Get("--port", "MOCKAPNS_PORT") ?? "2197";
        if (!IPAddress.TryParse(hostText, out var host))
        {
            throw new UsageException($"--host must be an IP address, not '{hostText}'.");
        }

        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            throw new UsageException($"--port must be a TCP port, not '{portText}'.");
        }

        var teamId = arguments.Get("--team-id", "MOCKAPNS_TEAM_ID");
        var keyId = arguments.Get("--key-id", "MOCKAPNS_KEY_ID");
        using var certificates = arguments.Has("--generate", "MOCKAPNS_GENERATE")
            ? Generate(directory, teamId, keyId)
            : LoadOrExplain(directory);
        var identity = DevelopmentIdentity.Read(directory);
        var options = new MockApnsOptions
        {
            Host = host,
            Port = port,
            ServerCertificate = certificates.ServerCertificate,
            ProviderKey = certificates.ProviderKey,
            TeamId = teamId ?? identity?.TeamId
                ?? throw new UsageException("serve needs --team-id (or MOCKAPNS_TEAM_ID, or mockapns.json from generate)."),
            KeyId = keyId ?? identity?.KeyId
                ?? throw new UsageException("serve needs --key-id (or MOCKAPNS_KEY_ID, or mockapns.json from generate)."),
            Topics = (arguments.Get("--topics", "MOCKAPNS_TOPICS") ?? "")
                .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            EnforceOneStreamRule = arguments.Has("--one-stream-rule", "MOCKAPNS_ONE_STREAM_RULE"),
            EnforceTokenUpdateRate = arguments.Has("--token-update-rate", "MOCKAPNS_TOKEN_UPDATE_RATE"),
            RecordNotifications = !arguments.Has("--no-record", "MOCKAPNS_NO_RECORD"),
            RecordBodies = !arguments.Has("--no-record-bodies", "MOCKAPNS_NO_RECORD_BODIES"),
        };

        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

        await using var server = await MockApnsServer.StartAsync(options, stop.Token);
        var shown = host.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host.ToString();
        Console.WriteLine($"MockApns listening on https://{shown}:{server.Port}");
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Ctrl-C or SIGTERM: stop below.
        }

        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }

    /// <summary>For a container that makes its own credentials in a shared volume on first start.</summary>
    private static MockApnsCertificateSet Generate(string directory, string? teamId, string? keyId)
    {
        var (set, _) = MockApnsCertificates.EnsureFiles(directory);
        DevelopmentIdentity.Ensure(directory, force: false, teamId, keyId);
        return set;
    }

    private static MockApnsCertificateSet LoadOrExplain(string directory)
    {
        try
        {
            return MockApnsCertificates.Load(directory);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new UsageException(
                $"No MockApns credentials in {Path.GetFullPath(directory)} ({e.Message}). " +
                "Run `generate --out <dir>` first, or pass --generate.");
        }
    }
}
