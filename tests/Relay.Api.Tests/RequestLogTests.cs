using System.Security.Cryptography;
using Serilog.Events;

namespace Relay.Api.Tests;

/// <summary>Request logs name the route template: never the raw path (a device token) or the query (an access_token).</summary>
public sealed class RequestLogTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task RequestLogsNameTheRouteTemplateNotThePathOrQuery()
    {
        var me = await relay.CreateAccountAsync();
        var deviceToken = LogCapture.Secret(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        var accessToken = LogCapture.Secret("q" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        var deviceId = Guid.NewGuid();

        await me.Client.GetAsync($"/v1/devices/{deviceToken}?access_token={accessToken}");
        await me.Client.DeleteAsync($"/v1/devices/{deviceId}?access_token={accessToken}");
        await me.Client.GetAsync($"/v1/devices?access_token={accessToken}");
        await me.Client.PostAsync($"/v1/devices/{deviceToken}/x?access_token={accessToken}", null);

        var paths = await WaitForRequestLogsAsync(4);
        Assert.Contains("/v1/devices/{deviceId}", paths);
        Assert.Contains("/v1/devices", paths);
        var text = relay.Logs.Text();
        Assert.DoesNotContain(deviceToken[..16], text, StringComparison.Ordinal);
        Assert.DoesNotContain(accessToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain("access_token", text, StringComparison.Ordinal);
        Assert.DoesNotContain(deviceId.ToString(), text, StringComparison.Ordinal);
    }

    private async Task<List<string>> WaitForRequestLogsAsync(int atLeast)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var paths = relay.Logs.Events
                .Where(e => e.Properties.TryGetValue("SourceContext", out var source) && source.ToString().Contains("RequestLogging", StringComparison.Ordinal))
                .Select(e => e.Properties.TryGetValue("RequestPath", out var path) ? ((ScalarValue)path).Value?.ToString() ?? "" : "")
                .ToList();
            if (paths.Count(p => p.StartsWith("/v1/devices", StringComparison.Ordinal)) >= atLeast || DateTime.UtcNow > deadline)
            {
                return paths;
            }

            await Task.Delay(50);
        }
    }
}
