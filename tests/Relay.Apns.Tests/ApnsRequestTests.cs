using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>What reaches APNs — path, headers, HTTP/2, and the payload byte for byte.</summary>
public sealed class ApnsRequestTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task EveryApnsHeaderArrivesAsTheSpecSaysIt()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var expiration = DateTimeOffset.UtcNow.AddDays(30).ToUnixTimeSeconds();
        var notification = TestNotifications.For(collapseId: "conversation-42", expiration: expiration);

        Assert.True((await client.SendAsync(notification)).IsAccepted);

        var seen = Assert.Single(mock.Notifications);
        Assert.Equal(notification.DeviceToken, seen.DeviceToken);
        Assert.True(seen.HasAuthorization);
        Assert.Equal(client.ProviderToken.Current, seen.ProviderToken);
        Assert.Equal("alert", seen.PushType);
        Assert.Equal(MockApnsFixture.Topic, seen.Topic);
        Assert.Equal(MockApnsFixture.Topic, seen.Headers["apns-topic"]);
        Assert.Equal("10", seen.Priority);
        Assert.Equal(expiration.ToString(System.Globalization.CultureInfo.InvariantCulture), seen.Expiration);
        Assert.Equal("conversation-42", seen.CollapseId);
        var apnsId = seen.Headers["apns-id"];
        Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", apnsId);
        Assert.Equal(notification.ApnsId, Guid.Parse(apnsId));
        Assert.Equal(
            ["apns-collapse-id", "apns-expiration", "apns-id", "apns-priority", "apns-push-type", "apns-topic"],
            seen.Headers.Keys.Select(k => k.ToLowerInvariant()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task NoTracingHeaderReachesApnsEvenUnderASampledActivity()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        using var source = new ActivitySource("Relay.Apns.Tests.Tracing");
        var apnsSpans = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (activity.Source.Name == ApnsClient.ActivitySourceName)
                {
                    apnsSpans.Enqueue(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var rejected = TestNotifications.For();
        mock.Script(rejected.DeviceToken, MockApnsBehavior.BadDeviceToken);

        using (var parent = source.StartActivity("deliver"))
        {
            Assert.NotNull(parent);
            parent.TraceStateString = "relay=1";
            parent.AddBaggage("account", "someone");
            Assert.True((await client.SendAsync(TestNotifications.For(collapseId: "c-1", expiration: 0))).IsAccepted);
            Assert.Equal(400, (await client.SendAsync(rejected)).StatusCode);

            // The client's own spans, children of the caller's: only the headers are gone. Their URL keeps 8 digits of the token.
            Assert.Equal(2, apnsSpans.Count(span => span.TraceId == parent.TraceId && span.ParentSpanId == parent.SpanId));
            Assert.Contains(apnsSpans, span => span.GetTagItem("http.response.status_code") is 400);
            Assert.All(apnsSpans, span => Assert.DoesNotContain(rejected.DeviceToken, (string)span.GetTagItem("url.full")!, StringComparison.Ordinal));
            Assert.Contains(apnsSpans, span => ((string)span.GetTagItem("url.full")!).EndsWith("/3/device/" + rejected.DeviceToken[..8] + "…", StringComparison.Ordinal));
        }

        var counters = mock.Counters;
        Assert.Equal(2, counters.Requests);
        foreach (var tracing in new[] { "traceparent", "tracestate", "baggage", "request-id", "correlation-context" })
        {
            Assert.Equal(0, counters.RequestsWith(tracing));
        }

        Assert.Equal(
            ["apns-collapse-id", "apns-expiration", "apns-id", "apns-priority", "apns-push-type", "apns-topic", "authorization", "content-length", "content-type", "host"],
            counters.RequestsByHeader.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(
            counters.RequestsByHeader.Keys.Order(StringComparer.Ordinal),
            Assert.Single(mock.Notifications).RequestHeaders.Keys.Select(k => k.ToLowerInvariant()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task WithoutATracerOfTheApnsClientAPushInsideATracedRequestMakesNoActivity()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        using var source = new ActivitySource("Relay.Apns.Tests.Untraced");
        using var listener = new ActivityListener
        {
            ShouldListenTo = candidate => candidate.Name == source.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var current = new ConcurrentQueue<string>();
        void Changed(object? sender, ActivityChangedEventArgs change)
        {
            if (change.Current is { } activity)
            {
                current.Enqueue(activity.OperationName);
            }
        }

        Activity.CurrentChanged += Changed;
        try
        {
            using (source.StartActivity("deliver"))
            {
                Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
            }
        }
        finally
        {
            Activity.CurrentChanged -= Changed;
        }

        // Nothing listens to the client's source, so the push made no Activity of its own.
        Assert.Contains("deliver", current);
        Assert.DoesNotContain("POST /3/device/{token}", current);
    }

    [Fact]
    public async Task CollapseIdIsSentOnlyWhenTheNotificationHasOne()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For(expiration: 0);

        Assert.True((await client.SendAsync(notification)).IsAccepted);

        var seen = Assert.Single(mock.Notifications);
        Assert.False(seen.Headers.ContainsKey("apns-collapse-id"));
        Assert.Equal("0", seen.Expiration);
    }

    [Fact]
    public async Task RequestsTravelOverHttp2()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);

        var response = await client.SendAsync(TestNotifications.For());

        // The mock listens for HTTP/2 only (TLS with ALPN h2): an HTTP/1.1 request to it cannot succeed, so an
        // accepted notification travelled over HTTP/2.
        Assert.True(response.IsAccepted);
        using var http1 = new HttpClient(new SocketsHttpHandler
        {
            SslOptions = { RemoteCertificateValidationCallback = apns.Certificates.ValidateServerCertificate },
        });
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(mock.BaseAddress, "/health"))
        {
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http1.SendAsync(request));
        Assert.Equal(1, mock.Counters.Accepted);
    }

    [Fact]
    public async Task CiphertextArrivesByteForByte()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var ciphertext = TestNotifications.NewCiphertext(1500);
        var messageId = Guid.NewGuid();
        var payload = TestNotifications.Payload.Build(ciphertext, messageId);
        var notification = new ApnsNotification
        {
            DeviceToken = TestNotifications.NewDeviceToken(),
            Topic = MockApnsFixture.Topic,
            Payload = payload,
        };

        Assert.True((await client.SendAsync(notification)).IsAccepted);

        var seen = Assert.Single(mock.Notifications);
        Assert.Equal(payload, seen.Body.ToArray());
        using var json = JsonDocument.Parse(seen.Body);
        Assert.Equal(ciphertext, json.RootElement.GetProperty("ciphertext").GetString());
        Assert.Equal(messageId, json.RootElement.GetProperty("messageId").GetGuid());
        var aps = json.RootElement.GetProperty("aps");
        Assert.Equal(1, aps.GetProperty("mutable-content").GetInt32());
        Assert.Equal("New message", aps.GetProperty("alert").GetProperty("title").GetString());
        Assert.Equal("default", aps.GetProperty("sound").GetString());
    }

    [Fact]
    public async Task PayloadOfExactly4096BytesIsSentAndAccepted()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var payload = TestNotifications.Payload.Build(Ciphertext(TestNotifications.Payload.MaxCiphertextLength), Guid.NewGuid());

        var response = await client.SendAsync(new ApnsNotification
        {
            DeviceToken = TestNotifications.NewDeviceToken(),
            Topic = MockApnsFixture.Topic,
            Payload = payload,
        });

        Assert.Equal(4096, payload.Length);
        Assert.True(response.IsAccepted);
        Assert.Equal(4096, Assert.Single(mock.Notifications).BodyLength);
    }

    [Fact]
    public async Task PayloadOf4097BytesIsRefusedBeforeAnyRequest()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var payload = TestNotifications.Payload.Build(Ciphertext(TestNotifications.Payload.MaxCiphertextLength + 1), Guid.NewGuid());
        var notification = new ApnsNotification
        {
            DeviceToken = TestNotifications.NewDeviceToken(),
            Topic = MockApnsFixture.Topic,
            Payload = payload,
        };

        await Assert.ThrowsAsync<ArgumentException>(() => client.SendAsync(notification));

        Assert.Equal(4097, payload.Length);
        Assert.Equal(0, mock.Counters.Requests);
        Assert.Equal(0, mock.Counters.ConnectionsOpened);
    }

    [Fact]
    public void PayloadSizeIsKnownExactlyBeforeBuilding()
    {
        var payloads = new[]
        {
            TestNotifications.Payload,
            new ApnsPayload("Nouveau message — ünïcødé", body: "Tap to read", locKey: "NEW_MESSAGE", sound: null),
            new ApnsPayload(null, locKey: "NEW_MESSAGE"),
        };
        foreach (var payload in payloads)
        {
            foreach (var length in new[] { 0, 4, 1000, payload.MaxCiphertextLength - 1, payload.MaxCiphertextLength })
            {
                Assert.Equal(payload.SizeFor(length), payload.Build(Ciphertext(length), Guid.NewGuid()).Length);
            }

            Assert.Equal(ApnsHeaders.MaxPayloadBytes, payload.SizeFor(payload.MaxCiphertextLength));
            Assert.Equal(ApnsHeaders.MaxPayloadBytes + 1, payload.SizeFor(payload.MaxCiphertextLength + 1));
            Assert.Equal(ApnsHeaders.MaxPayloadBytes, payload.Build(Ciphertext(payload.MaxCiphertextLength), Guid.NewGuid()).Length);
        }
    }

    [Fact]
    public async Task EnvironmentOfTheNotificationChoosesTheEndpoint()
    {
        await using var production = await apns.StartMockAsync();
        await using var sandbox = await apns.StartMockAsync();
        using var client = apns.CreateClient(production, sandbox);
        var toProduction = TestNotifications.For(environment: ApnsEnvironment.Production);
        var toSandbox = TestNotifications.For(environment: ApnsEnvironment.Sandbox);

        Assert.True((await client.SendAsync(toProduction)).IsAccepted);
        Assert.True((await client.SendAsync(toSandbox)).IsAccepted);

        Assert.Equal(toProduction.DeviceToken, Assert.Single(production.Notifications).DeviceToken);
        Assert.Equal(toSandbox.DeviceToken, Assert.Single(sandbox.Notifications).DeviceToken);
        Assert.Single(production.Notifications.Concat(sandbox.Notifications).Select(n => n.ProviderToken).Distinct());
    }

    /// <summary>Base64 characters of exactly <paramref name="length"/>, the alphabet's rarer ones included.</summary>
    private static string Ciphertext(int length)
    {
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            text.Append(TestNotifications.NewCiphertext(3000));
        }

        return text.ToString(0, length);
    }
}
