namespace Relay.Api.Tests;

/// <summary>A real browser (Debian's headless Chromium) renders the API reference at /docs.</summary>
public sealed class DocsPageTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task HeadlessChromiumRendersTheEndpointList()
    {
        Assert.True(File.Exists(Chromium), "Chromium is not installed: scripts/test.sh installs the Debian package chromium.");
        var artifacts = Artifacts.Directory();
        var screenshot = Path.Combine(artifacts, "docs-page.png");
        File.Delete(screenshot);
        var url = new Uri(relay.Address, "/docs/").ToString();

        var dom = await RunChromiumAsync("--dump-dom", url);
        await RunChromiumAsync($"--screenshot={screenshot}", url);

        // Scalar renders the operations client-side: their summaries in the DOM prove the page rendered.
        Assert.Contains("Pushes an encrypted message to every active device of the recipients", dom, StringComparison.Ordinal);
        Assert.Contains("Registers an APNs device token for the caller", dom, StringComparison.Ordinal);
        Assert.Contains("Exchanges a signed challenge for a bearer token", dom, StringComparison.Ordinal);
        Assert.True(new FileInfo(screenshot).Length > 10_000, "the screenshot is missing or blank");
    }

    private static async Task<string> RunChromiumAsync(string mode, string url)
    {
        var profile = Directory.CreateTempSubdirectory("chromium-").FullName;
        try
        {
            var result = await ChildProcess.RunAsync(Chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", $"--user-data-dir={profile}", "--window-size=1400,1800",
                "--virtual-time-budget=20000", "--run-all-compositor-stages-before-draw", mode, url,
            ], TimeSpan.FromSeconds(90));
            Assert.True(result.ExitCode == 0, $"chromium {mode} exited {result.ExitCode}: {result.Errors}");
            return result.Output;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}

/// <summary>Where tests leave files for people to look at: .artifacts/ at the repository root (git-ignored).</summary>
public static class Artifacts
{
    public static string Directory()
    {
        var path = Path.Combine(RepositoryRoot(), ".artifacts");
        System.IO.Directory.CreateDirectory(path);
        return path;
    }

    public static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "RelayServer.sln")))
        {
            folder = folder.Parent;
        }

        return folder?.FullName ?? throw new InvalidOperationException("The tests run outside the repository.");
    }
}
