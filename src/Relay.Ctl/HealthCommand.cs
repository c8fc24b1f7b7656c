using System.CommandLine;
using System.Globalization;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl health --url &lt;url&gt;</c>: GETs the relay's health endpoint, exit 0 on 2xx. Made for the Docker
/// HEALTHCHECK (the ASP.NET runtime image has no curl): no configuration, no database, one request.
/// </summary>
internal static class HealthCommand
{
    public const string DefaultUrl = "http://127.0.0.1:8080/health/ready";

    public static Command Create(CtlConsole console)
    {
        var command = new Command("health", "GETs the relay's health endpoint; exit 0 on a 2xx answer, 1 otherwise.");
        var url = new Option<string>("--url")
        {
            Description = "The endpoint to GET.",
            DefaultValueFactory = _ => DefaultUrl,
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the answer.",
            DefaultValueFactory = _ => 5,
        };
        command.Options.Add(url);
        command.Options.Add(timeout);
        command.SetAction((parse, cancellationToken) => GetAsync(console, parse.GetValue(url)!, parse.GetValue(timeout), cancellationToken));
        return command;
    }

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
