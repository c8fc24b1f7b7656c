using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Relay.MockApns;

namespace Relay.Api.Tests;

/// <summary>
/// Runs alone: OpenTelemetry listens to meters by name process-wide, so relays of other test classes running at the
/// same time would share the instruments it reads.
/// </summary>
[Collection(RunsAlone.Name)]
public sealed partial class OperationsTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task MetricsEndpointServesPrometheusTextWithTheRelaysMetersMovingAfterASend()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();
        using var client = relay.CreateRelayClient();
        var before = await client.GetStringAsync("/metrics");

        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        await Task.Delay(TimeSpan.FromSeconds(1)); // the exporter caches a scrape briefly
        using var response = await client.GetAsync("/metrics");
        var after = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.True(Sum(after, "relay_messages_accepted_total") > Sum(before, "relay_messages_accepted_total"), "relay.messages.accepted did not move");
        Assert.True(Sum(after, "relay_deliveries_total", "status=\"sent\"") > Sum(before, "relay_deliveries_total", "status=\"sent\""), "relay.deliveries did not move");
        Assert.True(Sum(after, "apns_client_requests_total", "status=\"200\"") > Sum(before, "apns_client_requests_total", "status=\"200\""), "apns.client.requests did not move");
        Assert.True(Sum(after, "apns_client_request_duration_seconds_count") > Sum(before, "apns_client_request_duration_seconds_count"), "the APNs latency histogram did not move");
        Assert.Contains("http_server_request_duration_seconds", after, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidatedDevicesAreCountedByReason()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.BadDeviceToken);
        using var client = relay.CreateRelayClient();
        var before = await client.GetStringAsync("/metrics");

        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        await Task.Delay(TimeSpan.FromSeconds(1));
        var after = await client.GetStringAsync("/metrics");

        Assert.True(Sum(after, "relay_devices_invalidated_total", "reason=\"BadDeviceToken\"") > Sum(before, "relay_devices_invalidated_total", "reason=\"BadDeviceToken\""));
        Assert.True(Sum(after, "relay_deliveries_total", "reason=\"BadDeviceToken\"") > Sum(before, "relay_deliveries_total", "reason=\"BadDeviceToken\""));
    }

    [Fact]
    public async Task OpenApiDocumentListsEverySpecEndpointWithItsResponses()
    {
        using var client = relay.CreateRelayClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        var expected = new (string Path, string Method, string[] Responses)[]
        {
            ("/v1/accounts", "post", ["200", "201", "400"]),
            ("/v1/auth/challenge", "post", ["200", "400", "404"]),
            ("/v1/auth/token", "post", ["200", "400", "401"]),
            ("/v1/devices", "post", ["200", "201", "400", "401"]),
            ("/v1/devices", "get", ["200", "401"]),
            ("/v1/devices/{deviceId}", "delete", ["204", "401", "404"]),
            ("/v1/devices/{deviceId}/key", "put", ["204", "400", "401", "404"]),
            ("/v1/accounts/{accountId}/devices", "get", ["200", "401", "404"]),
            ("/v1/messages", "post", ["200", "400", "401", "404", "409", "413"]),
            ("/health/live", "get", ["200"]),
            ("/health/ready", "get", ["200", "503"]),
        };
        foreach (var (path, method, responses) in expected)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} is missing");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} is missing");
            var documented = operation.GetProperty("responses").EnumerateObject().Select(r => r.Name).ToHashSet();
            foreach (var status in responses)
            {
                Assert.True(documented.Contains(status), $"{method} {path} does not document {status}");
            }
        }

        var schemes = document.RootElement.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("bearer", schemes.GetProperty("Bearer").GetProperty("scheme").GetString());
        Assert.True(paths.GetProperty("/v1/messages").GetProperty("post").TryGetProperty("security", out _));
        var messageSchema = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("SendMessageRequest");
        Assert.True(messageSchema.GetProperty("properties").GetProperty("ciphertext").TryGetProperty("examples", out _), "the message request has no example");
    }

    [Fact]
    public async Task ApiReferencePageAnswers()
    {
        using var client = relay.CreateRelayClient();
        using var response = await client.GetAsync("/docs");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("scalar", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task LivenessAndReadinessAnswerWhilePostgreSqlIsUp()
    {
        using var client = relay.CreateRelayClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
        using var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await ready.ReadJsonAsync();
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
    }

    [Fact]
    public async Task ReadinessReportsAnApnsConfigurationFaultUntilAPushSucceeds()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.Reject(400, "TopicDisallowed").Times(1));
        using var client = relay.CreateRelayClient();

        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        var degraded = await (await client.GetAsync("/health/ready")).ReadJsonAsync();
        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        var healthy = await (await client.GetAsync("/health/ready")).ReadJsonAsync();

        var apns = degraded.GetProperty("checks").GetProperty("apns");
        Assert.Equal("Degraded", apns.GetProperty("status").GetString());
        Assert.Contains("TopicDisallowed", apns.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal("Healthy", healthy.GetProperty("checks").GetProperty("apns").GetProperty("status").GetString());
    }

    /// <summary>The sum of a Prometheus metric's samples whose labels contain <paramref name="label"/>.</summary>
    private static double Sum(string text, string metric, string label = "") =>
        text.Split('\n')
            .Where(line => line.StartsWith(metric, StringComparison.Ordinal) && (line.Length == metric.Length || line[metric.Length] is '{' or ' '))
            .Where(line => line.Contains(label, StringComparison.Ordinal))
            .Select(line => SampleValue().Match(line))
            .Where(match => match.Success)
            .Sum(match => double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"\s([0-9.eE+-]+)(\s\d+)?$")]
    private static partial Regex SampleValue();
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RunsAlone
{
    public const string Name = "Serial";
}
