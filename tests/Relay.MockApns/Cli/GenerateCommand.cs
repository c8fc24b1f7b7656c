namespace Relay.MockApns.Cli;

/// <summary><c>generate --out dir</c>: development CA, server certificate and provider key, idempotently.</summary>
internal static class GenerateCommand
{
    public static int Run(IReadOnlyList<string> args)
    {
        var arguments = CommandLineArguments.Parse(args, ["--out", "--team-id", "--key-id"], ["--force"]);
        var directory = arguments.Get("--out") ?? throw new UsageException("generate needs --out <dir>.");
        var force = arguments.Has("--force");

        var (set, written) = MockApnsCertificates.EnsureFiles(directory, force);
        set.Dispose();

        if (DevelopmentIdentity.Ensure(directory, force, arguments.Get("--team-id"), arguments.Get("--key-id")))
        {
            written = [.. written, DevelopmentIdentity.FileName];
        }

        var full = Path.GetFullPath(directory);
        Console.WriteLine(written.Count == 0
            ? $"MockApns credentials in {full} already exist (use --force to replace them)."
            : $"MockApns wrote {string.Join(", ", written)} to {full}.");
        return 0;
    }
}
