using System.Text.RegularExpressions;

namespace Relay.Api.Tests;

/// <summary>A real browser (Debian's headless Chromium) renders the API reference at /docs.</summary>
public sealed partial class DocsPageTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    private const string Chromium = "/usr/bin/chromium";

    /// <summary>What Scalar shows by default that sends a reader to its cloud: AI chat, deploy, share, SDKs, its hosted client.</summary>
    private static readonly string[] CloudFeatures = ["Ask AI", "Deploy", "Share", "Generate SDK", "Generate MCP", "Open API Client", "Developer Tools"];

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

    [Fact]
    public async Task TheReferenceShowsNoneOfScalarsCloudButtonsAndLoadsNothingFromScalarsServers()
    {
        var dom = await RunChromiumAsync("--dump-dom", new Uri(relay.Address, "/docs/").ToString());
        var text = VisibleText(dom);

        Assert.Contains("Pushes an encrypted message to every active device of the recipients", text, StringComparison.Ordinal);
        Assert.All(CloudFeatures, feature => Assert.DoesNotContain(feature, text, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain("client.scalar.com", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("fonts.scalar.com", dom, StringComparison.Ordinal);
        Assert.DoesNotContain("ask-agent", StyleOrScript().Replace(dom, " "), StringComparison.Ordinal);
    }

    /// <summary>The page's text as a reader sees it: no style sheets, scripts or markup.</summary>
    private static string VisibleText(string dom) =>
        Whitespace().Replace(Markup().Replace(StyleOrScript().Replace(dom, " "), " "), " ");

    [GeneratedRegex(@"<(style|script)\b.*?</\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex StyleOrScript();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Markup();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

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
