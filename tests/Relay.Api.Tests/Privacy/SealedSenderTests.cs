using System.Net;
using System.Text.Json;
using Relay.Api.Tests.Delivery;

namespace Relay.Api.Tests.Privacy;

/// <summary>A relay whose sealed sends are limited to 4 a minute per recipient.</summary>
public sealed class SealedRelayFactory : RelayFactory
{
    public const int PerRecipient = 4;

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
        [("RateLimits:SealedPerRecipientPerMinute", PerRecipient.ToString(System.Globalization.CultureInfo.InvariantCulture))];
}

/// <summary>Sealed sends: the relay pushes them without learning, storing or logging who sent them.</summary>
public sealed class SealedSenderTests(SealedRelayFactory relay) : IClassFixture<SealedRelayFactory>
{
    [Fact]
    public async Task ASealedSendWithEveryRecipientsKeyReachesEveryDeviceAndStoresNoSender()
    {
        var alice = await relay.CreateAccountAsync();
        var (alicePhone, aliceToken) = await alice.RegisterDeviceAsync();
        var aliceKey = await alice.SetDeliveryKeyAsync(required: true);
        var bob = await relay.CreateAccountAsync();
        var (bobPhone, bobToken) = await bob.RegisterDeviceAsync();
        var bobKey = await bob.SetDeliveryKeyAsync(required: false);
        var ciphertext = Json.NewCiphertext();

        var (status, answer, response) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = alice.AccountId, deliveryKey = aliceKey }, new { accountId = bob.AccountId, deliveryKey = bobKey } },
            ciphertext,
        });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["messageId", "deliveries"], answer.EnumerateObject().Select(p => p.Name));
        var deliveries = answer.GetProperty("deliveries").EnumerateArray().ToList();
        Assert.Equal(new[] { alicePhone, bobPhone }.Order(), deliveries.Select(d => d.GetProperty("deviceId").GetGuid()).Order());
        Assert.All(deliveries, d =>
        {
            Assert.Equal(["accountId", "deviceId", "status"], d.EnumerateObject().Select(p => p.Name));
            Assert.Equal("sent", d.GetProperty("status").GetString());
        });
        Assert.Contains(ciphertext, System.Text.Encoding.UTF8.GetString(relay.Production.NotificationsFor(aliceToken).Single().Body.Span), StringComparison.Ordinal);
        Assert.Single(relay.Production.NotificationsFor(bobToken));
        var messageId = answer.GetProperty("messageId").GetGuid();
        Assert.Equal(1L, await relay.Database.CountAsync($"messages WHERE id = '{messageId}' AND sender_account_id IS NULL"));
        response.Dispose();

        // No one can ask how a sealed message fared: there is no sender to answer.
        foreach (var account in new[] { alice, bob })
        {
            using var state = await account.Client.GetAsync($"/v1/messages/{messageId}");
            Assert.Equal(HttpStatusCode.NotFound, state.StatusCode);
        }
    }

    [Fact]
    public async Task OneWrongMissingOrUnknownRecipientKeySendsNothingAndTheAnswerDoesNotSayWhich()
    {
        var alice = await relay.CreateAccountAsync();
        var (_, aliceToken) = await alice.RegisterDeviceAsync();
        var aliceKey = await alice.SetDeliveryKeyAsync(required: true);
        var bob = await relay.CreateAccountAsync();
        var (_, bobToken) = await bob.RegisterDeviceAsync();
        var bobKey = await bob.SetDeliveryKeyAsync(required: false);
        var keyless = await relay.CreateAccountAsync();
        await keyless.RegisterDeviceAsync();
        var messagesBefore = await relay.Database.CountAsync("messages");
        var good = new { accountId = alice.AccountId, deliveryKey = (string?)aliceKey };

        var refusals = new List<string>();
        foreach (var other in new[]
        {
            new { accountId = bob.AccountId, deliveryKey = (string?)DeliveryKeyCalls.NewKey() },
            new { accountId = bob.AccountId, deliveryKey = (string?)aliceKey },
            new { accountId = bob.AccountId, deliveryKey = (string?)null },
            new { accountId = keyless.AccountId, deliveryKey = (string?)bobKey },
            new { accountId = Guid.NewGuid(), deliveryKey = (string?)bobKey },
        })
        {
            var (status, problem, response) = await relay.PostSealedAsync(new { to = new[] { good, other }, ciphertext = Json.NewCiphertext() });
            response.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, status);
            refusals.Add(Words(problem));
        }

        // Plain ids are missing keys too.
        var (plain, plainProblem, plainResponse) = await relay.PostSealedAsync(new { to = new object[] { good, bob.AccountId }, ciphertext = Json.NewCiphertext() });
        plainResponse.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, plain);
        refusals.Add(Words(plainProblem));

        Assert.Single(refusals.Distinct());
        Assert.DoesNotContain(bob.AccountId.ToString("D"), refusals[0], StringComparison.OrdinalIgnoreCase);
        Assert.Equal(messagesBefore, await relay.Database.CountAsync("messages"));
        Assert.Empty(relay.Production.NotificationsFor(aliceToken));
        Assert.Empty(relay.Production.NotificationsFor(bobToken));
    }

    /// <summary>What a refusal says, without the per-request trace id.</summary>
    private static string Words(JsonElement problem) =>
        string.Join('\n', problem.EnumerateObject().Where(p => p.Name != "traceId").Select(p => $"{p.Name}={p.Value}"));

    [Fact]
    public async Task TheLogsOfASealedSendHoldNeitherTheSenderNorTheDeliveryKey()
    {
        var sender = await relay.CreateAccountAsync();
        var (senderDevice, _) = await sender.RegisterDeviceAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync();
        var before = relay.Logs.Events.Count;

        var (status, answer, response) = await relay.PostSealedAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() }, "sealed-log-check");
        response.Dispose();
        Assert.Equal(HttpStatusCode.OK, status);
        await relay.Production.WaitForNotificationsAsync(token, 1, TimeSpan.FromSeconds(5));

        var logged = relay.Logs.Events.Skip(before).ToList();
        Assert.NotEmpty(logged);
        var text = string.Join('\n', logged.Select(e => e.RenderMessage() + " " + string.Join(' ', e.Properties.Select(p => $"{p.Key}={p.Value}"))));
        Assert.Contains(answer.GetProperty("messageId").GetGuid().ToString(), text, StringComparison.Ordinal);
        foreach (var secret in new[] { sender.AccountId.ToString(), sender.AccountId.ToString("N"), senderDevice.ToString(), key, "sealed-log-check" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task ARepeatUnderTheSameIdempotencyKeyAnswersTheFirstMessageAndSendsNothingAgain()
    {
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync();
        var body = new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() };
        var idempotencyKey = Guid.NewGuid().ToString();

        var (first, firstAnswer, r1) = await relay.PostSealedAsync(body, idempotencyKey);
        var (again, againAnswer, r2) = await relay.PostSealedAsync(body, idempotencyKey);
        var (other, otherAnswer, r3) = await relay.PostSealedAsync(body with { ciphertext = Json.NewCiphertext() }, idempotencyKey);
        r1.Dispose();
        r2.Dispose();
        r3.Dispose();

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.UnprocessableEntity], [first, again, other]);
        Assert.Equal(firstAnswer.GetProperty("messageId").GetGuid(), againAnswer.GetProperty("messageId").GetGuid());
        Assert.Single(relay.Production.NotificationsFor(token));
        Assert.Equal("application/problem+json", r3.Content.Headers.ContentType?.MediaType);
        Assert.NotEqual(JsonValueKind.Undefined, otherAnswer.ValueKind);

        // A repeat must present the keys as well: the key alone tells nothing.
        var (stranger, _, r4) = await relay.PostSealedAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = DeliveryKeyCalls.NewKey() } }, ciphertext = body.ciphertext }, idempotencyKey);
        r4.Dispose();
        Assert.Equal(HttpStatusCode.Unauthorized, stranger);
    }

    [Fact]
    public async Task ASealedSendCannotNameASendingDevice()
    {
        var recipient = await relay.CreateAccountAsync();
        var (device, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync();

        var (status, problem, response) = await relay.PostSealedAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext(), fromDeviceId = device });
        response.Dispose();

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("fromDeviceId not allowed", problem.GetProperty("title").GetString());
        Assert.Empty(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task SealedSendsToOneRecipientAreRateLimitedWithRetryAfterAndOthersAreNotHeldBack()
    {
        var busy = await relay.CreateAccountAsync();
        var (_, busyToken) = await busy.RegisterDeviceAsync();
        var busyKey = await busy.SetDeliveryKeyAsync();
        var quiet = await relay.CreateAccountAsync();
        var (_, quietToken) = await quiet.RegisterDeviceAsync();
        var quietKey = await quiet.SetDeliveryKeyAsync();

        // Strangers without the key do not spend the recipient's allowance.
        for (var i = 0; i < SealedRelayFactory.PerRecipient + 2; i++)
        {
            var (refused, _, r) = await relay.PostSealedAsync(new { to = new[] { new { accountId = busy.AccountId, deliveryKey = DeliveryKeyCalls.NewKey() } }, ciphertext = Json.NewCiphertext() });
            r.Dispose();
            Assert.Equal(HttpStatusCode.Unauthorized, refused);
        }

        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < SealedRelayFactory.PerRecipient + 2; i++)
        {
            var (status, _, response) = await relay.PostSealedAsync(new { to = new[] { new { accountId = busy.AccountId, deliveryKey = busyKey } }, ciphertext = Json.NewCiphertext() });
            statuses.Add(status);
            if (status == HttpStatusCode.TooManyRequests)
            {
                limited ??= response;
            }
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, SealedRelayFactory.PerRecipient), HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 and <= 60 }, "no Retry-After in seconds");
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.Equal(SealedRelayFactory.PerRecipient, relay.Production.NotificationsFor(busyToken).Count);

        // A message to the busy recipient and another is refused whole; the other alone still goes.
        var (both, _, r1) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = quiet.AccountId, deliveryKey = quietKey }, new { accountId = busy.AccountId, deliveryKey = busyKey } },
            ciphertext = Json.NewCiphertext(),
        });
        r1.Dispose();
        var (alone, _, r2) = await relay.PostSealedAsync(new { to = new[] { new { accountId = quiet.AccountId, deliveryKey = quietKey } }, ciphertext = Json.NewCiphertext() });
        r2.Dispose();
        Assert.Equal([HttpStatusCode.TooManyRequests, HttpStatusCode.OK], [both, alone]);
        Assert.Single(relay.Production.NotificationsFor(quietToken));
    }
}

/// <summary>A relay that takes 3 sealed sends a minute from one address.</summary>
public sealed class SealedPerAddressRelayFactory : RelayFactory
{
    protected override IEnumerable<(string Key, string Value)> ExtraSettings => [("RateLimits:SealedPerAddressPerMinute", "3")];
}

public sealed class SealedAddressLimitTests(SealedPerAddressRelayFactory relay) : IClassFixture<SealedPerAddressRelayFactory>
{
    [Fact]
    public async Task SealedSendsFromOneAddressAreRateLimitedWithRetryAfter()
    {
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync();

        var statuses = new List<HttpStatusCode>();
        TimeSpan? retryAfter = null;
        for (var i = 0; i < 5; i++)
        {
            var (status, _, response) = await relay.PostSealedAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() });
            statuses.Add(status);
            retryAfter ??= status == HttpStatusCode.TooManyRequests ? response.Headers.RetryAfter?.Delta : null;
            response.Dispose();
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.NotNull(retryAfter);
        Assert.Equal(3, relay.Production.NotificationsFor(token).Count);

        // Authenticated sends are not counted against the sealed limit.
        var sender = await relay.CreateAccountAsync();
        var (authenticated, _) = await sender.PostMessageAsync(new { to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } }, ciphertext = Json.NewCiphertext() });
        Assert.Equal(HttpStatusCode.OK, authenticated);
    }
}
