using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.MockApns;

namespace Relay.Api.Tests.Delivery;

/// <summary>A send repeated under the same Idempotency-Key is one message: one push per device, one messageId.</summary>
public sealed class IdempotencyTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task ARepeatAnswersWithTheFirstMessageAndSendsNothingAgain()
    {
        var (sender, recipient, token) = await PairAsync();
        var body = new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() };

        var (firstStatus, first) = await sender.PostMessageAsync(body, "key-1");
        var (againStatus, again) = await sender.PostMessageAsync(body, "key-1");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (firstStatus, againStatus));
        Assert.Equal(first.GetProperty("messageId").GetGuid(), again.GetProperty("messageId").GetGuid());
        Assert.Equal(first.GetProperty("deliveries")[0].GetProperty("apnsId").GetGuid(), again.GetProperty("deliveries")[0].GetProperty("apnsId").GetGuid());
        Assert.Equal("sent", again.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Single(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task TheSameKeyWithADifferentMessageIsRefused()
    {
        var (sender, recipient, token) = await PairAsync();
        var ciphertext = Json.NewCiphertext();
        await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext }, "key-2");

        foreach (var other in new object[]
        {
            new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() },
            new { to = new[] { recipient.AccountId }, ciphertext, ttlSeconds = 60 },
            new { to = new[] { recipient.AccountId }, ciphertext, collapseId = "thread" },
        })
        {
            var (status, problem) = await sender.PostMessageAsync(other, "key-2");
            Assert.Equal(HttpStatusCode.UnprocessableEntity, status);
            Assert.Equal("Idempotency-Key reused", problem.GetProperty("title").GetString());
        }

        Assert.Single(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task KeysAreTheSendersOwn()
    {
        var (sender, recipient, token) = await PairAsync();
        var stranger = await relay.CreateAccountAsync();
        var body = new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() };

        var (_, mine) = await sender.PostMessageAsync(body, "shared-key");
        var (_, theirs) = await stranger.PostMessageAsync(body, "shared-key");

        Assert.NotEqual(mine.GetProperty("messageId").GetGuid(), theirs.GetProperty("messageId").GetGuid());
        Assert.Equal(2, relay.Production.NotificationsFor(token).Count);
    }

    [Fact]
    public async Task TwentyConcurrentRepeatsMakeOneMessage()
    {
        var (sender, recipient, token) = await PairAsync();
        var body = new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() };

        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => sender.PostMessageAsync(body, "concurrent")));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        Assert.Single(answers.Select(a => a.Body.GetProperty("messageId").GetGuid()).Distinct());
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE sender_account_id = '{sender.AccountId}'"));
        Assert.Single(relay.Production.NotificationsFor(token));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("has space")]
    [InlineData(null)]
    public async Task AnInvalidKeyIsABadRequestAndSendsNothing(string? key)
    {
        key ??= new string('k', 256);
        var (sender, recipient, token) = await PairAsync();

        var (status, problem) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() }, key);

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Invalid Idempotency-Key", problem.GetProperty("title").GetString());
        Assert.Empty(relay.Production.NotificationsFor(token));
        Assert.Equal(0, await relay.Database.CountAsync($"messages WHERE sender_account_id = '{sender.AccountId}'"));
    }

    [Fact]
    public async Task TheSenderCanAskForEveryDeliverysState()
    {
        var (sender, recipient, _) = await PairAsync();
        await recipient.RegisterDeviceAsync();
        var (_, sent) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(), ttlSeconds = 60 });
        var messageId = sent.GetProperty("messageId").GetGuid();

        var state = await sender.Client.GetFromJsonAsync<JsonElement>($"/v1/messages/{messageId}");

        Assert.Equal(messageId, state.GetProperty("messageId").GetGuid());
        var created = state.GetProperty("createdAt").GetDateTimeOffset();
        Assert.Equal(created.AddSeconds(60), state.GetProperty("expiresAt").GetDateTimeOffset());
        var deliveries = state.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(2, deliveries.Count);
        for (var i = 0; i < deliveries.Count; i++)
        {
            var answered = sent.GetProperty("deliveries")[i];
            Assert.Equal(answered.GetProperty("deviceId").GetGuid(), deliveries[i].GetProperty("deviceId").GetGuid());
            Assert.Equal(answered.GetProperty("apnsId").GetGuid(), deliveries[i].GetProperty("apnsId").GetGuid());
            Assert.Equal("sent", deliveries[i].GetProperty("status").GetString());
            Assert.Equal(1, deliveries[i].GetProperty("attempts").GetInt32());
            Assert.True(deliveries[i].GetProperty("updatedAt").GetDateTimeOffset() >= created);
        }

        var stranger = await relay.CreateAccountAsync();
        var hidden = await stranger.Client.GetAsync($"/v1/messages/{messageId}");
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal("application/problem+json", hidden.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ACiphertextIsKeptWhileAnInboxHoldsItAndDroppedOnceNoDeliveryNeedsIt()
    {
        var (sender, recipient, token) = await PairAsync();
        var deviceId = (await recipient.Client.GetFromJsonAsync<JsonElement>("/v1/devices"))[0].GetProperty("deviceId").GetGuid();

        var (_, sent) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });

        // Sent, but the device has not acknowledged it: its inbox still holds it.
        var messageId = sent.GetProperty("messageId").GetGuid();
        Assert.Equal("sent", sent.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE id = '{messageId}' AND ciphertext IS NOT NULL"));
        (await recipient.Client.PostAsJsonAsync("/v1/inbox/acks", new { deviceId, messageIds = new[] { messageId } })).EnsureSuccessStatusCode();
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE id = '{messageId}' AND ciphertext IS NULL"));

        // A delivery that failed for good owes nothing either.
        relay.Production.Script(token, MockApnsBehavior.Reject(410, "Unregistered", DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds()));
        var (_, failed) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("failed", failed.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE id = '{failed.GetProperty("messageId").GetGuid()}' AND ciphertext IS NULL"));
    }

    private async Task<(TestAccount Sender, TestAccount Recipient, string Token)> PairAsync()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        return (sender, recipient, token);
    }
}
