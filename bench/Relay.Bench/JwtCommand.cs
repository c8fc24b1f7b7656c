using Relay.Apns;

namespace Relay.Bench;

/// <summary><c>jwt</c>: one provider token, signed now, for tools that cannot sign their own (h2load, curl).</summary>
internal static class JwtCommand
{
    public static IReadOnlyCollection<string> Options { get; } = ["--key", "--team-id", "--key-id"];

    public static int Run(BenchArguments arguments)
    {
        using var token = ApnsProviderToken.FromFile(
            arguments.Required("--team-id"), arguments.Required("--key-id"), arguments.Required("--key"), TimeProvider.System);
        Console.WriteLine(token.CreateUncached());
        return 0;
    }
}
