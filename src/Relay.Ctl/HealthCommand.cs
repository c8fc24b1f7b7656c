using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl health [--url &lt;url&gt;]</c>: GETs the relay's health endpoint, exit 0 on 2xx. Made for the Docker
/// HEALTHCHECK (the ASP.NET runtime image has no curl): no database, one request. Without <c>--url</c> it asks the
/// readiness endpoint of <c>Relayctl:RelayUrl</c> from the settings (the local stack's settings file has it), else
/// the container's port 8080.
/// </summary>
internal static class HealthCommand
{
    public const string DefaultUrl = "http://127.0.0.1:8080/health/ready";

    /// <summary>The relay's base URL, for commands that talk to the relay rather than to its database.</summary>
    public const string RelayUrlKey = "Relayctl:RelayUrl";

    public static Command Create(CtlConsole console)
    {
        var command = new Command("health", "GETs the relay's health endpoint; exit 0 on a 2xx answer, 1 otherwise.");
        var url = new Option<string?>("--url")
        {
            Description = $"The endpoint to GET (default: {{{RelayUrlKey}}}/health/ready from the settings, else {DefaultUrl}).",
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the answer.",
            DefaultValueFactory = _ => 5,
        };
        command.Options.Add(url);
        command.Options.Add(timeout);
        var settings = new SettingsOptions(command, apns: false, database: false);
        command.SetAction((parse, cancellationToken) => GetAsync(
            console, parse.GetValue(url) ?? ReadyUrl(settings.Read(parse, console)), parse.GetValue(timeout), cancellationToken));
        return command;
    }

    private static string ReadyUrl(IConfiguration configuration) =>
        configuration[RelayUrlKey] is { Length: > 0 } relay ? relay.TrimEnd('/') + "/health/ready" : DefaultUrl;

    private static async Task<int> GetAsync(CtlConsole console, string url, int timeoutSeconds, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw CtlException.Usage($"--url must be an absolute http:// or https:// URL, not '{url}'.");
        }

        if (timeoutSeconds is < 1 or > 300)
        {
            throw CtlException.Usage("--timeout must be 1 to 300 seconds.");
        }

        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        using var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = timeout };
        using var client = new HttpClient(handler) { Timeout = timeout };
        try
        {
            using var response = await client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = string.Create(CultureInfo.InvariantCulture, $"{(int)response.StatusCode} {response.ReasonPhrase}");
            if (response.IsSuccessStatusCode)
            {
                console.Out.WriteLine($"{status}: {uri}");
                return RelayCtl.Success;
            }

            console.Fail($"{uri} answered {status}");
            return RelayCtl.Failure;
        }
        catch (HttpRequestException e)
        {
            console.Fail($"cannot reach {uri} ({e.HttpRequestError})");
            return RelayCtl.Failure;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            console.Fail($"no answer from {uri} within {timeoutSeconds} s");
            return RelayCtl.Failure;
        }
    }
}
