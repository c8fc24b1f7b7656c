using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.MockApns;

namespace Relay.Api.Tests;

public sealed class DeviceLifecycleTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task UnregisteredTokenIsInvalidatedAndGetsNothingAfterwards()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddMinutes(1)));

        var first = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });

        var delivery = first.Delivery(deviceId);
        Assert.Equal("failed", delivery.GetProperty("status").GetString());
        Assert.Equal("Unregistered", delivery.GetProperty("reason").GetString());
        var listed = Assert.Single(await recipient.ListDevicesAsync());
        Assert.Equal("Unregistered", listed.GetProperty("invalidReason").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("invalidatedAt").ValueKind);

        relay.Production.ClearScript(token);
        var second = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Empty(second.GetProperty("deliveries").EnumerateArray());
        Assert.Empty(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task UnregisteredTokenIsKeptWhenRegisteredAgainAfterTheTimestamp()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();

        // APNs saw the token die an hour ago; the device registered since, so the token lives again.
        relay.Production.Script(token, MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddHours(-1)).Times(1));
        var first = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("Unregistered", first.Delivery(deviceId).GetProperty("reason").GetString());

        var listed = Assert.Single(await recipient.ListDevicesAsync());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("invalidatedAt").ValueKind);
        var second = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("sent", second.Delivery(deviceId).GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("BadDeviceToken")]
    [InlineData("DeviceTokenNotForTopic")]
    public async Task DeadTokenReasonsInvalidateTheDevice(string reason)
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deadId, deadToken) = await recipient.RegisterDeviceAsync();
        var (aliveId, _) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(deadToken, MockApnsBehavior.Reject(400, reason));

        var first = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal(reason, first.Delivery(deadId).GetProperty("reason").GetString());
        Assert.Equal("sent", first.Delivery(aliveId).GetProperty("status").GetString());

        var dead = (await recipient.ListDevicesAsync()).Single(d => d.GetProperty("deviceId").GetGuid() == deadId);
        Assert.Equal(reason, dead.GetProperty("invalidReason").GetString());
        Assert.Equal(deadToken[..8], dead.GetProperty("tokenPrefix").GetString());

        var second = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal(aliveId, Assert.Single(second.GetProperty("deliveries").EnumerateArray()).GetProperty("deviceId").GetGuid());
    }

    [Fact]
    public async Task RegisteringAnInvalidatedTokenAgainRevivesIt()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.BadDeviceToken.Times(1));
        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });

        var again = await recipient.Client.PostAsJsonAsync("/v1/devices", new { token = token.ToUpperInvariant(), topic = RelayFactory.ChatTopic, environment = "production" });

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(deviceId, (await again.ReadJsonAsync()).GetProperty("deviceId").GetGuid());
        var listed = Assert.Single(await recipient.ListDevicesAsync());
        Assert.Equal(JsonValueKind.Null, listed.GetProperty("invalidatedAt").ValueKind);
        var message = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("sent", message.Delivery(deviceId).GetProperty("status").GetString());
    }

    [Fact]
    public async Task TokenRegisteredByAnotherAccountMovesToItAsANewDevice()
    {
        var caller = await relay.CreateAccountAsync();
        var oldOwner = await relay.CreateAccountAsync();
        var newOwner = await relay.CreateAccountAsync();
        var (oldDeviceId, token) = await oldOwner.RegisterDeviceAsync();
        var before = await caller.SendMessageAsync(new { to = new[] { oldOwner.AccountId }, ciphertext = Json.NewCiphertext() });

        var moved = await newOwner.Client.PostAsJsonAsync("/v1/devices", new { token, topic = RelayFactory.ChatTopic, environment = "sandbox" });

        Assert.Equal(HttpStatusCode.Created, moved.StatusCode);
        var deviceId = (await moved.ReadJsonAsync()).GetProperty("deviceId").GetGuid();
        Assert.NotEqual(oldDeviceId, deviceId);
        Assert.Empty(await oldOwner.ListDevicesAsync());
        // The old device's deliveries went with it: no history crosses accounts.
        Assert.Equal(0, await relay.Database.CountAsync($"deliveries WHERE device_id = '{oldDeviceId}'"));
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE id = '{before.GetProperty("messageId").GetGuid()}'"));
        var listed = Assert.Single(await newOwner.ListDevicesAsync());
        Assert.Equal("sandbox", listed.GetProperty("environment").GetString());

        var toOld = await caller.SendMessageAsync(new { to = new[] { oldOwner.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Empty(toOld.GetProperty("deliveries").EnumerateArray());
        var toNew = await caller.SendMessageAsync(new { to = new[] { newOwner.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("sent", toNew.Delivery(deviceId).GetProperty("status").GetString());
        Assert.Single(relay.Sandbox.NotificationsFor(token));
        Assert.Single(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task SameTokenForAnotherTopicIsAnotherDevice()
    {
        var account = await relay.CreateAccountAsync();
        var (chat, token) = await account.RegisterDeviceAsync(RelayFactory.ChatTopic);
        var (other, _) = await account.RegisterDeviceAsync(RelayFactory.OtherTopic, token: token);

        Assert.NotEqual(chat, other);
        Assert.Equal(2, (await account.ListDevicesAsync()).Length);
    }

    [Fact]
    public async Task DeletingADeviceStopsItsPushes()
    {
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();

        var deleted = await recipient.Client.DeleteAsync($"/v1/devices/{deviceId}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        var message = await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Empty(message.GetProperty("deliveries").EnumerateArray());
        Assert.Empty(relay.Production.NotificationsFor(token));
        Assert.Equal(HttpStatusCode.NotFound, (await recipient.Client.DeleteAsync($"/v1/devices/{deviceId}")).StatusCode);
    }

    [Fact]
    public async Task CannotDeleteAnotherAccountsDevice()
    {
        var owner = await relay.CreateAccountAsync();
        var intruder = await relay.CreateAccountAsync();
        var (deviceId, _) = await owner.RegisterDeviceAsync();

        var response = await intruder.Client.DeleteAsync($"/v1/devices/{deviceId}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Single(await owner.ListDevicesAsync());
    }

    [Fact]
    public async Task NewDeviceIsCreatedAndTheSameRegistrationAgainIsOk()
    {
        var account = await relay.CreateAccountAsync();
        var token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        var created = await account.Client.PostAsJsonAsync("/v1/devices", new { token, topic = RelayFactory.ChatTopic, environment = "production" });
        var again = await account.Client.PostAsJsonAsync("/v1/devices", new { token, topic = RelayFactory.ChatTopic, environment = "production" });

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal((await created.ReadJsonAsync()).GetProperty("deviceId").GetGuid(), (await again.ReadJsonAsync()).GetProperty("deviceId").GetGuid());
        var listed = Assert.Single(await account.ListDevicesAsync());
        Assert.Equal(token[..8].ToLowerInvariant(), listed.GetProperty("tokenPrefix").GetString());
    }
}
