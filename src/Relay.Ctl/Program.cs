namespace Relay.Ctl;

internal static class Program
{
    private static Task<int> Main(string[] args) => RelayCtl.RunAsync(args, Console.Out, Console.Error);
}
