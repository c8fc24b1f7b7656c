using System.CommandLine;
using System.CommandLine.Parsing;

namespace Relay.Ctl;

/// <summary>
/// relayctl, the operators' tool: checks a deployment's configuration and connectivity, lists an account's devices,
/// sends a test push, prints delivery statistics and probes the relay's health endpoint. It reads the relay's own
/// configuration keys. Runnable in-process (tests) as well as a process.
/// </summary>
public static class RelayCtl
{
    /// <summary>The command did what it was asked, and every check passed.</summary>
    public const int Success = 0;

    /// <summary>Something failed: a check, a connection, APNs rejected the push.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong.</summary>
    public const int UsageError = 2;

    /// <summary>Runs one command line and returns its exit code. Every failure is one line on <paramref name="stderr"/>.</summary>
    /// <param name="args">The arguments, without the program name.</param>
    /// <param name="stdout">Where results go.</param>
    /// <param name="stderr">Where failures go, one line each, prefixed <c>relayctl:</c>.</param>
    /// <param name="environment">
    /// Environment variables to read configuration from (<c>Apns__KeyId</c>); <see langword="null"/> reads the process's own.
    /// </param>
    /// <param name="cancellationToken">Stops the command.</param>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter stdout,
        TextWriter stderr,
        IReadOnlyDictionary<string, string?>? environment = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        var console = new CtlConsole(stdout, stderr, environment);
        var root = new RootCommand("relayctl: checks and inspects a relay deployment, using the relay's own configuration keys.")
        {
            CheckCommand.Create(console),
            DevicesCommand.Create(console),
            PushCommand.Create(console),
            StatsCommand.Create(console),
            HealthCommand.Create(console),
            EnvelopeCommand.Create(console),
        };

        // In-process (tests) the executable is the test host; help should still say relayctl.
        root.HelpName = "relayctl";

        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            console.Fail($"{parsed.Errors[0].Message} (see '{CommandPath(parsed.CommandResult)} --help')");
            return UsageError;
        }

        try
        {
            return await parsed.InvokeAsync(
                new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false },
                cancellationToken);
        }
        catch (CtlException e)
        {
            console.Fail(e.Message);
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            console.Fail("cancelled");
            return Failure;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // No stack trace: the type and message are enough to act on, and Redact keeps secrets out.
            console.Fail(RelayDatabase.DescribeFailure(e) ?? $"unexpected {e.GetType().Name}: {CtlConsole.Redact(e.Message)}");
            return Failure;
        }
    }

    private static string CommandPath(CommandResult result)
    {
        var names = new List<string>();
        for (SymbolResult? at = result; at is CommandResult command; at = at.Parent)
        {
            names.Add(command.Command is RootCommand ? "relayctl" : command.Command.Name);
        }

        names.Reverse();
        return string.Join(' ', names);
    }
}
