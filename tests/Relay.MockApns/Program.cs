using Relay.MockApns.Cli;

namespace Relay.MockApns;

/// <summary><c>generate</c> development credentials, or <c>serve</c> the mock until Ctrl-C / SIGTERM.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => MockApnsCommandLine.RunAsync(args);
}
