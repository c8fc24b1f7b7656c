using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Relay.Api.Tests.Delivery;

namespace Relay.Api.Tests.Privacy;

/// <summary>Delivery keys: who may make an account's phones ring.</summary>
public sealed class DeliveryKeyTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task AStrangerWithoutTheKeyCannotPushToAnAccountThatRequiresItButWithTheKeyCan()
    {
        var stranger = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync(required: true);
        var messagesBefore = await relay.Database.CountAsync("messages");

        foreach (object to in new object[]
        {
            new[] { recipient.AccountId },
            new[] { new { accountId = recipient.AccountId, deliveryKey = DeliveryKeyCalls.NewKey() } },
            new[] { new { accountId = recipient.AccountId, deliveryKey = (string?)null } },
        })
        {
            var (status, problem) = await stranger.PostMessageAsync(new { to, ciphertext = Json.NewCiphertext() });
            Assert.Equal(HttpStatusCode.Forbidden, status);
            Assert.Equal("Delivery key required", problem.GetProperty("title").GetString());
            Assert.Contains(recipient.AccountId.ToString("D"), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(messagesBefore, await relay.Database.CountAsync("messages"));
        Assert.Empty(relay.Production.NotificationsFor(token));

        var (sent, answer) = await stranger.PostMessageAsync(new
        {
            to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } },
            ciphertext = Json.NewCiphertext(),
        });
        Assert.Equal(HttpStatusCode.OK, sent);
        Assert.Equal("sent", answer.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Single(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task OneRefusedRecipientRefusesTheWholeMessage()
    {
        var sender = await relay.CreateAccountAsync();
        var open = await relay.CreateAccountAsync();
        var (_, openToken) = await open.RegisterDeviceAsync();
        var guarded = await relay.CreateAccountAsync();
        var (_, guardedToken) = await guarded.RegisterDeviceAsync();
        await guarded.SetDeliveryKeyAsync(required: true);

        var (status, _) = await sender.PostMessageAsync(new { to = new[] { open.AccountId, guarded.AccountId }, ciphertext = Json.NewCiphertext() });

        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Empty(relay.Production.NotificationsFor(openToken));
        Assert.Empty(relay.Production.NotificationsFor(guardedToken));
        Assert.Equal(0L, await relay.Database.CountAsync($"deliveries WHERE account_id IN ('{open.AccountId}', '{guarded.AccountId}')"));
    }

    [Fact]
    public async Task WithoutRequiredPlainIdsStillReachTheAccountButAWrongKeyDoesNot()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync(required: false);

        var (plain, _) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        var (right, _) = await sender.PostMessageAsync(new { to = new object[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() });
        var (wrong, _) = await sender.PostMessageAsync(new { to = new object[] { new { accountId = recipient.AccountId, deliveryKey = DeliveryKeyCalls.NewKey() } }, ciphertext = Json.NewCiphertext() });

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.Forbidden], [plain, right, wrong]);
        Assert.Equal(2, relay.Production.NotificationsFor(token).Count);
    }

    [Theory]
    [InlineData("15 bytes")]
    [InlineData("33 bytes")]
    [InlineData("not base64")]
    [InlineData("url alphabet")]
    [InlineData("no key")]
    public async Task MalformedKeysAreRefusedAndChangeNothing(string what)
    {
        var account = await relay.CreateAccountAsync();
        var key = what switch
        {
            "15 bytes" => Convert.ToBase64String(RandomNumberGenerator.GetBytes(15)),
            "33 bytes" => Convert.ToBase64String(RandomNumberGenerator.GetBytes(33)),
            "not base64" => "this is not base64!!",
            "url alphabet" => "-_-_-_-_-_-_-_-_-_-_-_-_",
            _ => null,
        };

        using var response = await account.Client.PutAsJsonAsync("/v1/accounts/me/delivery", new { key, required = true });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var state = await account.Client.GetFromJsonAsync<JsonElement>("/v1/accounts/me/delivery");
        Assert.False(state.GetProperty("hasKey").GetBoolean());
        Assert.False(state.GetProperty("required").GetBoolean());

        // The same rule in to.
        var sender = await relay.CreateAccountAsync();
        if (key is not null)
        {
            var (status, problem) = await sender.PostMessageAsync(new { to = new[] { new { accountId = account.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() });
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.Contains("deliveryKey", problem.GetRawText(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task GetSaysWhetherThereIsAKeyButNeverReturnsItAndOnlyItsHashIsStored()
    {
        var account = await relay.CreateAccountAsync();
        var key = await account.SetDeliveryKeyAsync(required: true);

        using var response = await account.Client.GetAsync("/v1/accounts/me/delivery");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var state = JsonDocument.Parse(text).RootElement;
        Assert.True(state.GetProperty("hasKey").GetBoolean());
        Assert.True(state.GetProperty("required").GetBoolean());
        Assert.Equal(["hasKey", "required"], state.EnumerateObject().Select(p => p.Name));
        Assert.DoesNotContain(key, text, StringComparison.Ordinal);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(key)));
        Assert.Equal(1L, await relay.Database.CountAsync($"accounts WHERE id = '{account.AccountId}' AND delivery_key_hash = '\\x{hash}'::bytea"));
        Assert.Equal(0L, await relay.Database.CountAsync($"accounts WHERE encode(delivery_key_hash, 'base64') = '{key}'"));
    }

    [Fact]
    public async Task ANewKeyReplacesTheOldAndDeletingTheKeyOpensTheAccountAgain()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();
        var old = await recipient.SetDeliveryKeyAsync(required: true);
        var current = await recipient.SetDeliveryKeyAsync(required: true);

        var (withOld, _) = await sender.PostMessageAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = old } }, ciphertext = Json.NewCiphertext() });
        var (withCurrent, _) = await sender.PostMessageAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = current } }, ciphertext = Json.NewCiphertext() });
        Assert.Equal([HttpStatusCode.Forbidden, HttpStatusCode.OK], [withOld, withCurrent]);

        using var deleted = await recipient.Client.DeleteAsync("/v1/accounts/me/delivery");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        var state = await recipient.Client.GetFromJsonAsync<JsonElement>("/v1/accounts/me/delivery");
        Assert.False(state.GetProperty("hasKey").GetBoolean());
        var (plain, _) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal(HttpStatusCode.OK, plain);

        // Without a key, no sealed sender can reach it.
        var (sealedStatus, _, _) = await relay.PostSealedAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = current } }, ciphertext = Json.NewCiphertext() });
        Assert.Equal(HttpStatusCode.Unauthorized, sealedStatus);
    }

    [Fact]
    public async Task DeletingAnAccountTakesItsKeyItsSentMessagesAndEveryRowOfItsOwn()
    {
        var account = await relay.CreateAccountAsync();
        var friend = await relay.CreateAccountAsync();
        var (friendDevice, _) = await friend.RegisterDeviceAsync();
        var (device, _) = await account.RegisterDeviceAsync();
        await account.SetDeliveryKeyAsync(required: true);
        var (_, sentByIt) = await account.PostMessageAsync(new { to = new[] { friend.AccountId }, ciphertext = Json.NewCiphertext() });
        var messageId = sentByIt.GetProperty("messageId").GetGuid();

        using var deleted = await account.Client.DeleteAsync("/v1/accounts/me");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(0L, await relay.Database.CountAsync($"accounts WHERE id = '{account.AccountId}'"));
        Assert.Equal(0L, await relay.Database.CountAsync($"devices WHERE id = '{device}' OR account_id = '{account.AccountId}'"));
        Assert.Equal(0L, await relay.Database.CountAsync($"messages WHERE id = '{messageId}' OR sender_account_id = '{account.AccountId}'"));
        Assert.Equal(0L, await relay.Database.CountAsync($"deliveries WHERE message_id = '{messageId}' OR account_id = '{account.AccountId}'"));
        Assert.Equal(0L, await relay.Database.CountAsync($"auth_challenges WHERE account_id = '{account.AccountId}'"));
        foreach (var (method, path) in new[] { ("GET", "/v1/accounts/me/delivery"), ("PUT", "/v1/accounts/me/delivery"), ("DELETE", "/v1/accounts/me/delivery"), ("GET", $"/v1/messages/{messageId}") })
        {
            using var request = new HttpRequestMessage(new HttpMethod(method), path);
            if (method == "PUT")
            {
                request.Content = JsonContent.Create(new { key = DeliveryKeyCalls.NewKey(), required = false });
            }

            using var refused = await account.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Account gone", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }

        Assert.Equal(1L, await relay.Database.CountAsync($"devices WHERE id = '{friendDevice}'"));
    }
}
