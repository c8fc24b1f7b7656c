using System.Net;
using System.Net.Sockets;

namespace Relay.Api.Tests.Faults;

/// <summary>
/// A throwaway PostgreSQL cluster of one test's own, on a free loopback port, made and run by the repository's
/// <c>scripts/pg.sh</c> (which runs the server tools as the postgres user when the tests run as root), so that the
/// test can stop and start it under a running relay. Stopped and deleted when disposed.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(180);

    private readonly string _script;
    private readonly string _directory;
    private readonly int _port;

    private PostgresCluster(string script, string directory, int port)
    {
        _script = script;
        _directory = directory;
        _port = port;
    }

    /// <summary>The cluster's <c>relay</c> database, as pg.sh prints it.</summary>
    public string ConnectionString { get; private set; } = "";

    public static async Task<PostgresCluster> StartAsync()
    {
        var script = Path.Combine(RepositoryRoot(), "scripts", "pg.sh");
        // In /tmp: the postgres user must be able to reach it, and a unix socket path must stay short.
        var directory = Path.Combine(Path.GetTempPath(), "relay-faults-pg-" + Guid.NewGuid().ToString("N")[..10]);
        var cluster = new PostgresCluster(script, directory, FreeLoopbackPort());
        try
        {
            cluster.ConnectionString = await cluster.StartAgainAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }

        return cluster;
    }

    /// <summary>Starts the (stopped) cluster again on the same port; returns the connection string.</summary>
    public async Task<string> StartAgainAsync()
    {
        var result = await RunAsync("start", _directory, _port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return result.Output.Trim().Split('\n')[^1];
    }

    /// <summary>Stops the cluster (fast shutdown: open connections are cut).</summary>
    public Task StopAsync() => RunAsync("stop", _directory);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            if (Directory.Exists(_directory))
            {
                Directory.Delete(_directory, recursive: true);
            }
        }
    }

    private async Task<ChildProcess.Result> RunAsync(params string[] arguments)
    {
        var result = await ChildProcess.RunAsync(_script, arguments, CommandTimeout, workingDirectory: Path.GetTempPath());
        Assert.True(result.ExitCode == 0, $"pg.sh {string.Join(' ', arguments)} exited {result.ExitCode}:\n{result.Output}\n{result.Errors}");
        return result;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "scripts", "pg.sh")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No scripts/pg.sh above {AppContext.BaseDirectory}: the tests run from the repository's build output.");
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
