namespace Relay.Ctl;

/// <summary>A failure to report as one line on stderr, with the exit code to return.</summary>
internal sealed class CtlException(string message, int exitCode = RelayCtl.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;

    public static CtlException Usage(string message) => new(message, RelayCtl.UsageError);
}
