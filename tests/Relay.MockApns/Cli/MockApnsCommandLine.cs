namespace Relay.MockApns.Cli;

/// <summary>Dispatches <c>generate</c> and <c>serve</c>.</summary>
internal static class MockApnsCommandLine
{
    private const string Usage = """
        Usage:
          Relay.MockApns generate --out <dir> [--team-id T] [--key-id K] [--force]
          Relay.MockApns serve [--certs <dir>] [--host 127.0.0.1] [--port 2197] [--team-id T] [--key-id K]
                               [--topics a,b] [--one-stream-rule] [--token-update-rate]
                               [--no-record-bodies] [--no-record] [--generate]

        serve also reads MOCKAPNS_HOST, MOCKAPNS_PORT, MOCKAPNS_CERTS, MOCKAPNS_TEAM_ID, MOCKAPNS_KEY_ID,
        MOCKAPNS_TOPICS, MOCKAPNS_ONE_STREAM_RULE, MOCKAPNS_TOKEN_UPDATE_RATE, MOCKAPNS_NO_RECORD_BODIES,
        MOCKAPNS_NO_RECORD and MOCKAPNS_GENERATE (true/1/yes); command-line options win.
        Team and key id default to what `generate` wrote to <certs>/mockapns.json.
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            return args switch
            {
                ["generate", .. var rest] => GenerateCommand.Run(rest),
                ["serve", .. var rest] => await ServeCommand.RunAsync(rest),
                [] or ["help" or "--help" or "-h"] => PrintUsage(Console.Out, 0),
                _ => throw new UsageException($"Unknown command '{args[0]}'."),
            };
        }
        catch (UsageException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return PrintUsage(Console.Error, 2);
        }
    }

    private static int PrintUsage(TextWriter writer, int exitCode)
    {
        writer.WriteLine(Usage);
        return exitCode;
    }
}
