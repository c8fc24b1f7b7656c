using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Api.Tests;

public sealed class MessageFlowTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task EachDeviceOfTheRecipientGetsTheCiphertextVerbatimWithEveryHeaderRight()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (sandboxId, sandboxToken) = await recipient.RegisterDeviceAsync(RelayFactory.ChatTopic, "sandbox");
        var (productionId, productionToken) = await recipient.RegisterDeviceAsync(RelayFactory.ChatTopic, "production");
        var (otherId, otherToken) = await recipient.RegisterDeviceAsync(RelayFactory.OtherTopic, "production");
        var ciphertext = Json.NewCiphertext(700);
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        var message = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext, ttlSeconds = 3600, collapseId = "thread-7" });

        var messageId = message.GetProperty("messageId").GetGuid();
        Assert.Equal(3, message.GetProperty("deliveries").GetArrayLength());
        foreach (var (deviceId, token, mock, topic) in new[]
        {
            (sandboxId, sandboxToken, relay.Sandbox, RelayFactory.ChatTopic),
            (productionId, productionToken, relay.Production, RelayFactory.ChatTopic),
            (otherId, otherToken, relay.Production, RelayFactory.OtherTopic),
        })
        {
            var delivery = message.Delivery(deviceId);
            Assert.Equal("sent", delivery.GetProperty("status").GetString());
            Assert.Equal(recipient.AccountId, delivery.GetProperty("accountId").GetGuid());
            var apnsId = delivery.GetProperty("apnsId").GetString()!;

            var pushed = Assert.Single(mock.NotificationsFor(token));
            Assert.Equal(apnsId, pushed.ApnsId);
            Assert.Equal(apnsId, pushed.Headers["apns-id"]);
            Assert.Matches("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", pushed.Headers["apns-id"]);
            Assert.Equal("alert", pushed.PushType);
            Assert.Equal(topic, pushed.Topic);
            Assert.Equal("10", pushed.Priority);
            Assert.Equal("thread-7", pushed.CollapseId);
            Assert.True(pushed.HasAuthorization);
            var expiration = long.Parse(pushed.Expiration!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(expiration, before + 3600, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 3600);

            using var body = JsonDocument.Parse(pushed.Body);
            var root = body.RootElement;
            Assert.Equal(ciphertext, root.GetProperty("ciphertext").GetString());
            Assert.Contains("\"ciphertext\":\"" + ciphertext + "\"", pushed.BodyText, StringComparison.Ordinal);
            Assert.Equal(messageId, root.GetProperty("messageId").GetGuid());
            var aps = root.GetProperty("aps");
            Assert.Equal(1, aps.GetProperty("mutable-content").GetInt32());
            if (topic == RelayFactory.ChatTopic)
            {
                Assert.Equal("New message", aps.GetProperty("alert").GetProperty("title").GetString());
                Assert.Equal("default", aps.GetProperty("sound").GetString());
            }
            else
            {
                Assert.Equal(RelayFactory.OtherAlertTitle, aps.GetProperty("alert").GetProperty("title").GetString());
                Assert.Equal("NEW_THING", aps.GetProperty("alert").GetProperty("loc-key").GetString());
                Assert.Equal("chime.caf", aps.GetProperty("sound").GetString());
            }
        }

        // Successes are written in batches, within about half a second.
        var listed = await recipient.ListDevicesAsync();
        for (var attempt = 0; attempt < 50 && listed.Any(d => d.GetProperty("lastSuccessAt").ValueKind == JsonValueKind.Null); attempt++)
        {
            await Task.Delay(100);
            listed = await recipient.ListDevicesAsync();
        }

        Assert.All(listed, d => Assert.NotEqual(JsonValueKind.Null, d.GetProperty("lastSuccessAt").ValueKind));
    }

    [Fact]
    public async Task ZeroTtlIsSentAsExpirationZeroAndNoCollapseIdHeaderWithoutOne()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();

        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(), ttlSeconds = 0 });

        var pushed = Assert.Single(relay.Production.NotificationsFor(token));
        Assert.Equal("0", pushed.Expiration);
        Assert.Null(pushed.CollapseId);
    }

    [Fact]
    public async Task DefaultTtlIsThirtyDays()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });

        var expiration = long.Parse(Assert.Single(relay.Production.NotificationsFor(token)).Expiration!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiration, before + 2_592_000, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 2_592_000);
    }

    [Fact]
    public async Task MessageToSeveralRecipientsReachesEachActiveDeviceAndSkipsRecipientsWithNone()
    {
        var caller = await relay.CreateAccountAsync();
        var first = await relay.CreateAccountAsync();
        var second = await relay.CreateAccountAsync();
        var silent = await relay.CreateAccountAsync();
        var (firstDevice, _) = await first.RegisterDeviceAsync();
        var (secondDevice, _) = await second.RegisterDeviceAsync(environment: "sandbox");

        var message = await caller.SendMessageAsync(new { to = new[] { first.AccountId, second.AccountId, silent.AccountId }, ciphertext = Json.NewCiphertext() });

        var deliveries = message.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(2, deliveries.Count);
        Assert.Equal("sent", message.Delivery(firstDevice).GetProperty("status").GetString());
        Assert.Equal("sent", message.Delivery(secondDevice).GetProperty("status").GetString());
    }

    [Fact]
    public async Task LargestCiphertextTheProblemNamesIsAcceptedAndOneByteMoreIsRefused()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (chatDevice, chatToken) = await recipient.RegisterDeviceAsync(RelayFactory.ChatTopic);
        var (otherDevice, otherToken) = await recipient.RegisterDeviceAsync(RelayFactory.OtherTopic);

        var tooLarge = await caller.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(3500) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal("application/problem+json", tooLarge.Content.Headers.ContentType?.MediaType);
        var problem = await tooLarge.ReadJsonAsync();
        var maxBytes = problem.GetProperty("maxCiphertextBytes").GetInt32();
        var maxLength = problem.GetProperty("maxCiphertextLength").GetInt32();
        Assert.Equal(maxLength, Convert.ToBase64String(new byte[maxBytes]).Length);
        Assert.Contains(maxBytes.ToString(System.Globalization.CultureInfo.InvariantCulture), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        var largest = Json.NewCiphertext(maxBytes);
        var accepted = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = largest });
        Assert.Equal("sent", accepted.Delivery(chatDevice).GetProperty("status").GetString());
        Assert.Equal("sent", accepted.Delivery(otherDevice).GetProperty("status").GetString());
        var largestBody = Assert.Single(relay.Production.NotificationsFor(chatToken)).BodyLength;
        Assert.True(Math.Max(largestBody, Assert.Single(relay.Production.NotificationsFor(otherToken)).BodyLength) <= 4096);

        var oneMore = await caller.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(maxBytes + 1) });
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, oneMore.StatusCode);
        Assert.Single(relay.Production.NotificationsFor(chatToken));
    }
}
