using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Relay.Ctl;

namespace Relay.Api.Tests;

/// <summary>
/// scripts/run.sh as a new user runs it, as a real process: it starts PostgreSQL, the mock APNs and the relay, refuses
/// to start on busy ports, and Ctrl-C stops everything it started. It runs with <c>--no-build</c> on the Release build
/// the tests were built with, on free ports and in temporary folders, so that it never touches a developer's stack.
/// </summary>
public sealed class RunScriptTests : IDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);

    private readonly string _dev = Directory.CreateTempSubdirectory("relay-run-").FullName;

    // Not under a folder only we can traverse: as root, pg.sh runs PostgreSQL as the postgres user.
    private readonly string _pg = Path.Combine(Path.GetTempPath(), $"relay-run-pg-{Guid.NewGuid():N}");

    private readonly (int Relay, int Mock, int Pg) _ports;

    public RunScriptTests()
    {
        var ports = FreePorts(3);
        _ports = (ports[0], ports[1], ports[2]);
    }

    private string RelayUrl => $"http://127.0.0.1:{_ports.Relay}";

    [Fact]
    public async Task ASecondRunExitsNonZeroNamingTheBusyPortsWhileTheFirstKeepsRunningUntilCtrlCStopsAllOfIt()
    {
        using var first = Script.Start(Environment());
        await first.WaitUntilReadyAsync(new Uri(RelayUrl + "/health/ready"), StartTimeout);

        var second = await ChildProcess.RunAsync("bash", [ScriptPath, "--no-build"], TimeSpan.FromSeconds(30), Artifacts.RepositoryRoot(), Environment());

        Assert.Equal(1, second.ExitCode);
        var errors = second.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"run.sh: port {_ports.Relay} (the relay, RELAY_URL) is already in use; stop what listens there (another scripts/run.sh?) or choose another port", errors);
        Assert.Contains(errors, e => e.StartsWith($"run.sh: port {_ports.Mock} (the mock APNs, MOCK_PORT) is already in use", StringComparison.Ordinal));
        Assert.DoesNotContain("The relay is running", second.Output, StringComparison.Ordinal);
        Assert.False(first.HasExited, "the first run.sh stopped when the second failed:\n" + first.Log);
        using (var http = new HttpClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(RelayUrl + "/health/ready"))).StatusCode);
        }

        // relayctl, with the settings run.sh wrote and nothing from this process's environment.
        var config = Path.Combine(_dev, "relayctl.json");
        var health = await RelayCtlAsync("health", "--config", config);
        var check = await RelayCtlAsync("check", "--config", config);
        Assert.Equal((0, $"200 OK: {RelayUrl}/health/ready"), (health.ExitCode, health.Output.Trim()));
        Assert.True(check.ExitCode == 0, check.Output + check.Errors);
        Assert.EndsWith("check: all 6 ok", check.Output.Trim(), StringComparison.Ordinal);

        var group = first.ProcessGroup;
        Assert.NotEmpty(ProcessesIn(group));
        await first.InterruptAsync(TimeSpan.FromSeconds(60));

        // 130: stopped by SIGINT, after stopping the relay, the mock and the PostgreSQL it started.
        Assert.True(first.ExitCode == 130, $"run.sh exited {first.ExitCode}:\n{first.Log}");
        Assert.Empty(ProcessesIn(group));
        Assert.False(IsListening(_ports.Relay), "the relay still listens");
        Assert.False(IsListening(_ports.Mock), "the mock APNs still listens");
        Assert.False(IsListening(_ports.Pg), "PostgreSQL still listens");
        Assert.Contains("==> stopping", first.Log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relay")]
    [InlineData("mock")]
    [InlineData("postgresql")]
    public async Task ABusyPortStopsItBeforeItStartsAnything(string which)
    {
        var port = which switch { "relay" => _ports.Relay, "mock" => _ports.Mock, _ => _ports.Pg };
        using var taken = new TcpListener(IPAddress.Loopback, port);
        taken.Start();

        var run = await ChildProcess.RunAsync("bash", [ScriptPath, "--no-build"], TimeSpan.FromSeconds(30), Artifacts.RepositoryRoot(), Environment());

        Assert.Equal(1, run.ExitCode);
        var what = which switch { "relay" => "the relay, RELAY_URL", "mock" => "the mock APNs, MOCK_PORT", _ => "PostgreSQL, RELAY_PG_PORT" };
        Assert.Equal($"run.sh: port {port} ({what}) is already in use; stop what listens there (another scripts/run.sh?) or choose another port", run.Errors.Trim());
        Assert.DoesNotContain("The relay is running", run.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_pg), "PostgreSQL was started");
        Assert.False(File.Exists(Path.Combine(_dev, "relayctl.json")), "relayctl's settings were written");
    }

    private static string ScriptPath => Path.Combine(Artifacts.RepositoryRoot(), "scripts", "run.sh");

    private Dictionary<string, string?> Environment() => new()
    {
        ["RELAY_URL"] = RelayUrl,
        ["MOCK_PORT"] = _ports.Mock.ToString(CultureInfo.InvariantCulture),
        ["RELAY_PG_PORT"] = _ports.Pg.ToString(CultureInfo.InvariantCulture),
        ["RELAY_PG_DIR"] = _pg,
        ["RELAY_DEV_DIR"] = _dev,

        // run.sh must start its own PostgreSQL, not use the one the tests were given.
        ["ConnectionStrings__Relay"] = null,
    };

    private static async Task<(int ExitCode, string Output, string Errors)> RelayCtlAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await RelayCtl.RunAsync(args, stdout, stderr, new Dictionary<string, string?>());
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    private static int[] FreePorts(int count)
    {
        var listeners = Enumerable.Range(0, count).Select(_ => new TcpListener(IPAddress.Loopback, 0)).ToArray();
        try
        {
            foreach (var listener in listeners)
            {
                listener.Start();
            }

            return listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port).ToArray();
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Dispose();
            }
        }
    }

    private static bool IsListening(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The live processes of a process group, from /proc.</summary>
    private static List<string> ProcessesIn(int group)
    {
        var found = new List<string>();
        foreach (var folder in Directory.EnumerateDirectories("/proc"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(folder, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing parenthesis.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] != "Z" && int.Parse(fields[2], CultureInfo.InvariantCulture) == group)
            {
                found.Add(stat[..(stat.LastIndexOf(')') + 1)]);
            }
        }

        return found;
    }

    public void Dispose()
    {
        // Only after a failed test is anything left: stop the PostgreSQL run.sh may have left behind.
        if (File.Exists(Path.Combine(_pg, "postmaster.pid")))
        {
            using var stop = Process.Start("bash", [Path.Combine(Artifacts.RepositoryRoot(), "scripts", "pg.sh"), "stop", _pg]);
            stop.WaitForExit(30_000);
        }

        Directory.Delete(_dev, recursive: true);
        if (Directory.Exists(_pg))
        {
            Directory.Delete(_pg, recursive: true);
        }
    }

    /// <summary>run.sh running in its own session and process group, as in a terminal, with its output kept.</summary>
    private sealed class Script : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private Script(Process process)
        {
            _process = process;
            _process.OutputDataReceived += (_, e) => Append(e.Data);
            _process.ErrorDataReceived += (_, e) => Append(e.Data);
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public bool HasExited => _process.HasExited;

        public int ExitCode => _process.ExitCode;

        /// <summary>setsid makes run.sh the leader of a new process group (it does not fork: a child of ours leads no group).</summary>
        public int ProcessGroup => _process.Id;

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        public static Script Start(IReadOnlyDictionary<string, string?> environment)
        {
            // A terminal's shell starts run.sh with SIGINT at its default; a test host started in the background may
            // have it ignored, which bash would inherit and could not trap, so env resets it.
            var start = new ProcessStartInfo("setsid")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = Artifacts.RepositoryRoot(),
            };
            foreach (var argument in new[] { "env", "--default-signal=INT", "bash", ScriptPath, "--no-build" })
            {
                start.ArgumentList.Add(argument);
            }

            foreach (var (name, value) in environment)
            {
                if (value is null)
                {
                    start.Environment.Remove(name);
                }
                else
                {
                    start.Environment[name] = value;
                }
            }

            return new Script(Process.Start(start)!);
        }

        public async Task WaitUntilReadyAsync(Uri ready, TimeSpan timeout)
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.StartNew();
            while (deadline.Elapsed < timeout)
            {
                Assert.False(_process.HasExited, $"run.sh exited {(_process.HasExited ? _process.ExitCode : 0)} before the relay was ready:\n{Log}");
                try
                {
                    if ((await http.GetAsync(ready)).IsSuccessStatusCode && Log.Contains("The relay is running", StringComparison.Ordinal))
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
                catch (TaskCanceledException)
                {
                }

                await Task.Delay(250);
            }

            Assert.Fail($"the relay was not ready within {timeout}:\n{Log}");
        }

        /// <summary>Ctrl-C: SIGINT to the whole process group, as a terminal sends it; then waits for run.sh to end.</summary>
        public async Task InterruptAsync(TimeSpan timeout)
        {
            var kill = await ChildProcess.RunAsync("bash", ["-c", $"kill -INT -- -{ProcessGroup}"], TimeSpan.FromSeconds(10));
            Assert.True(kill.ExitCode == 0, kill.Errors);
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"run.sh was still running {timeout} after SIGINT:\n{Log}");
            }
        }

        public void Dispose()
        {
            if (!_process.HasExited)
            {
                using var kill = Process.Start("bash", ["-c", $"kill -KILL -- -{ProcessGroup}"]);
                kill.WaitForExit(10_000);
            }

            _process.Dispose();
        }

        private void Append(string? line)
        {
            if (line is not null)
            {
                lock (_log)
                {
                    _log.AppendLine(line);
                }
            }
        }
    }
}
