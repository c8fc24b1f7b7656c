using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Relay.Api.Tests.Faults;

/// <summary>
/// The built relay (<c>dotnet Relay.Api.dll</c>, the build output beside this test assembly) as a real child process
/// on a free loopback port, configured by environment variables only. It can be killed (SIGKILL) or asked to stop
/// (SIGTERM) and reports its exit code and how long it took to exit. Disposing it kills it by pid if it still runs.
/// </summary>
public sealed class RelayProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyPoll = TimeSpan.FromMilliseconds(100);

    /// <summary>Configuration the test process may carry in its own environment, none of which may reach the child.</summary>
    private static readonly string[] RelaySections =
    [
        "ASPNETCORE_", "ConnectionStrings__", "Apns__", "Auth__", "Database__", "Delivery__", "Inbox__", "Logging__", "Privacy__",
        "RateLimits__", "Realtime__", "Redis__", "Secrets__", "Serilog__", "Telemetry__",
    ];

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly HttpClient _probe;

    private RelayProcess(string name, Process process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
        _probe = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>A name for the test's output (<c>relay A</c>).</summary>
    public string Name { get; }

    /// <summary>Where it listens: <c>http://127.0.0.1:port/</c>.</summary>
    public Uri Address { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once it exited.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Everything it wrote to stdout and stderr so far, one line each.</summary>
    public IReadOnlyList<string> Output => [.. _lines];

    /// <summary>The relay's Release build output: copied beside the test assembly by the project reference.</summary>
    public static string RelayDll
    {
        get
        {
            var beside = Path.Combine(AppContext.BaseDirectory, "Relay.Api.dll");
            return File.Exists(beside)
                ? beside
                : throw new FileNotFoundException("Relay.Api.dll is not beside the test assembly: build the solution first.", beside);
        }
    }

    /// <summary>Starts the relay with <paramref name="settings"/> (configuration keys with <c>:</c>) and waits for readiness.</summary>
    public static async Task<RelayProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, TimeSpan readyTimeout)
    {
        var port = FreeLoopbackPort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(RelayDll);
        // Nothing of the test process's own configuration may leak into the child.
        foreach (var variable in start.Environment.Keys.Where(IsRelayConfiguration).ToList())
        {
            start.Environment.Remove(variable);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var relay = new RelayProcess(name, process, new Uri($"http://127.0.0.1:{port}/"));
        process.OutputDataReceived += (_, e) => relay.Capture(e.Data);
        process.ErrorDataReceived += (_, e) => relay.Capture(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await relay.WaitUntilReadyAsync(readyTimeout);
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }

        return relay;
    }

    /// <summary>Polls <c>/health/ready</c> until it answers 200; fails if the process exits or the time runs out.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"{Name} exited with {_process.ExitCode} before it was ready:\n{Tail()}");
            }

            if (await IsReadyAsync())
            {
                return;
            }

            if (clock.Elapsed > timeout)
            {
                throw new Xunit.Sdk.XunitException($"{Name} was not ready within {timeout}:\n{Tail()}");
            }

            await Task.Delay(ReadyPoll);
        }
    }

    /// <summary>Whether <c>/health/ready</c> answers 200 now.</summary>
    public async Task<bool> IsReadyAsync()
    {
        try
        {
            using var response = await _probe.GetAsync("/health/ready");
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: the process dies at once, whatever it was doing. Returns how long it took to be gone.</summary>
    public async Task<TimeSpan> KillAsync()
    {
        var clock = Stopwatch.StartNew();
        _process.Kill();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        return clock.Elapsed;
    }

    /// <summary>SIGTERM, as an orchestrator stops a container; waits up to <paramref name="timeout"/> for the exit.</summary>
    public async Task<(int ExitCode, TimeSpan Took)> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        var kill = await ChildProcess.RunAsync("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
        Assert.True(kill.ExitCode == 0, $"kill -TERM {Pid}: {kill.Errors}");
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{Name} was still running {timeout} after SIGTERM:\n{Tail()}");
        }

        return (_process.ExitCode, clock.Elapsed);
    }

    /// <summary>The last lines of its output, for a failure message.</summary>
    public string Tail(int lines = 40) => string.Join('\n', Output.TakeLast(lines));

    public async ValueTask DisposeAsync()
    {
        _probe.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        catch (InvalidOperationException)
        {
            // It never started.
        }

        _process.Dispose();
    }

    private void Capture(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    private static bool IsRelayConfiguration(string variable) =>
        RelaySections.Any(section => variable.StartsWith(section, StringComparison.OrdinalIgnoreCase));

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
