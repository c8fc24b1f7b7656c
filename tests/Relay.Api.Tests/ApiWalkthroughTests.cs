using System.Diagnostics;
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
            var start = new ProcessStartInfo("bash", ["-c", script]) { WorkingDirectory = work, RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await process.WaitForExitAsync(timeout.Token);

            Assert.True(process.ExitCode == 0, $"the walkthrough failed ({process.ExitCode}): {await errors}\n{await output}");
            var text = await output;
            Assert.Contains("\"status\":\"sent\"", text, StringComparison.Ordinal);
            Assert.Contains("\"title\":\"Ciphertext too large\"", text, StringComparison.Ordinal);
            Assert.Contains("mutable-content", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    [GeneratedRegex("```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();
}
