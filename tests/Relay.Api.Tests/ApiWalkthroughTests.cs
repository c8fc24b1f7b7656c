using System.Text.RegularExpressions;

namespace Relay.Api.Tests;

/// <summary>docs/api.md is run as written (its sh blocks, in order) against a test relay: the guide cannot rot.</summary>
public sealed partial class ApiWalkthroughTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task TheCurlWalkthroughReachesAFirstPush()
    {
        var guide = await File.ReadAllTextAsync(Path.Combine(Artifacts.RepositoryRoot(), "docs", "api.md"));
        var script = "set -euo pipefail\n" + string.Join("\n", ShellBlock().Matches(guide).Select(m => m.Groups[1].Value))
            .Replace("http://127.0.0.1:5080", relay.Address.ToString().TrimEnd('/'), StringComparison.Ordinal)
            .Replace("https://127.0.0.1:2197", relay.Sandbox.BaseAddress.ToString().TrimEnd('/'), StringComparison.Ordinal);
        var work = Directory.CreateTempSubdirectory("walkthrough-").FullName;
        try
        {
            var result = await ChildProcess.RunAsync("bash", ["-c", script], TimeSpan.FromSeconds(60), work);

            Assert.True(result.ExitCode == 0, $"the walkthrough failed ({result.ExitCode}): {result.Errors}\n{result.Output}");
            Assert.Contains("\"status\":\"sent\"", result.Output, StringComparison.Ordinal);
            Assert.Contains("\"title\":\"Ciphertext too large\"", result.Output, StringComparison.Ordinal);
            Assert.Contains("mutable-content", result.Output, StringComparison.Ordinal);
            Assert.Contains("\"publicKey\":", result.Output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [GeneratedRegex("```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();
}
