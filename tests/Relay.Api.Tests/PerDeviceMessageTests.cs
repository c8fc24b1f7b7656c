using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Relay.Api.Tests.Delivery;
using Relay.Api.Tests.Privacy;
using Relay.Api.Tests.Realtime;
using Relay.MockApns;

namespace Relay.Api.Tests;

/// <summary>Messages encrypted per device: each device gets its own ciphertext under one message id, or nothing is sent.</summary>
public sealed class PerDeviceMessageTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task TwoRecipientsWithTwoDevicesEachGetFourPushesEachCarryingItsOwnCiphertext()
    {
        var sender = await relay.CreateAccountAsync();
        var (alice, bob) = (await relay.CreateAccountAsync(), await relay.CreateAccountAsync());
        var devices = new List<(TestAccount Owner, Guid DeviceId, string Token, MockApnsServer Mock)>();
        foreach (var owner in new[] { alice, bob })
        {
            var (production, productionToken) = await owner.RegisterDeviceAsync();
            var (sandbox, sandboxToken) = await owner.RegisterDeviceAsync(environment: "sandbox");
            devices.Add((owner, production, productionToken, relay.Production));
            devices.Add((owner, sandbox, sandboxToken, relay.Sandbox));
        }

        var ciphertexts = devices.ToDictionary(d => d.DeviceId, _ => Json.NewCiphertext());

        var message = await sender.SendMessageAsync(new
        {
            to = new[] { alice.AccountId, bob.AccountId },
            ciphertexts = ciphertexts.Select(c => new { deviceId = c.Key, ciphertext = c.Value }),
        });

        var messageId = message.GetProperty("messageId").GetGuid();
        Assert.Equal(4, message.GetProperty("deliveries").GetArrayLength());
        foreach (var (owner, deviceId, token, mock) in devices)
        {
            var delivery = message.Delivery(deviceId);
            Assert.Equal("sent", delivery.GetProperty("status").GetString());
            Assert.Equal(owner.AccountId, delivery.GetProperty("accountId").GetGuid());
            var pushed = Assert.Single(mock.NotificationsFor(token));
            using var body = JsonDocument.Parse(pushed.Body);
            Assert.Equal(ciphertexts[deviceId], body.RootElement.GetProperty("ciphertext").GetString());
            Assert.Equal(messageId, body.RootElement.GetProperty("messageId").GetGuid());
            Assert.Equal(delivery.GetProperty("apnsId").GetString(), pushed.ApnsId);
            foreach (var other in ciphertexts.Where(c => c.Key != deviceId))
            {
                Assert.DoesNotContain(other.Value, pushed.BodyText, StringComparison.Ordinal);
            }
        }

        // The message itself holds no ciphertext: each delivery holds its device's.
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE id = '{messageId}' AND ciphertext IS NULL"));
        Assert.Equal(4, await relay.Database.CountAsync($"deliveries WHERE message_id = '{messageId}' AND ciphertext IS NOT NULL"));
    }

    public static TheoryData<string> WrongDeviceSets() =>
    [
        "a device missing",
        "an unknown device added",
        "an invalidated device",
        "a device listed twice",
        "a deleted device",
        "the sending device",
    ];

    [Theory]
    [MemberData(nameof(WrongDeviceSets))]
    public async Task AWrongDeviceSetIs409ListingTheCurrentDevicesAndNothingIsStoredOrSent(string wrong)
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (sendingDevice, _) = await sender.RegisterDeviceAsync();
        var (otherOwnDevice, _) = await sender.RegisterDeviceAsync();
        var (keyed, _) = await recipient.RegisterDeviceAsync();
        var (keyless, _) = await recipient.RegisterDeviceAsync();
        var publicKey = DeviceKeyTests.NewX25519PublicKey();
        Assert.Equal(HttpStatusCode.NoContent, (await recipient.PublishKeyAsync(keyed, publicKey, recipient.SignDeviceKey(keyed, publicKey))).StatusCode);
        var listed = new List<Guid> { keyed, keyless, otherOwnDevice };
        switch (wrong)
        {
            case "a device missing":
                listed.Remove(keyless);
                break;
            case "an unknown device added":
                listed.Add(Guid.NewGuid());
                break;
            case "an invalidated device":
                var (dead, deadToken) = await recipient.RegisterDeviceAsync();
                relay.Production.Script(deadToken, MockApnsBehavior.BadDeviceToken);
                var killed = await sender.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
                Assert.Equal("failed", killed.Delivery(dead).GetProperty("status").GetString());
                listed.Add(dead);
                break;
            case "a device listed twice":
                listed.Remove(keyless);
                listed.Add(keyed);
                break;
            case "a deleted device":
                var (deleted, _) = await recipient.RegisterDeviceAsync();
                Assert.Equal(HttpStatusCode.NoContent, (await recipient.Client.DeleteAsync($"/v1/devices/{deleted}")).StatusCode);
                listed.Add(deleted);
                break;
            case "the sending device":
                listed.Add(sendingDevice);
                break;
        }

        var before = await CountsAsync();
        var pushedBefore = relay.Production.Counters.Requests + relay.Sandbox.Counters.Requests;

        var (status, problem) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId, sender.AccountId },
            fromDeviceId = sendingDevice,
            ciphertexts = listed.Select(id => new { deviceId = id, ciphertext = Json.NewCiphertext() }),
        });

        Assert.Equal(HttpStatusCode.Conflict, status);
        Assert.Equal("Devices changed", problem.GetProperty("title").GetString());
        var current = problem.GetProperty("devices").EnumerateArray().ToDictionary(d => d.GetProperty("deviceId").GetGuid());
        Assert.Equal(new HashSet<Guid> { keyed, keyless, otherOwnDevice }, current.Keys.ToHashSet());
        Assert.Equal(recipient.AccountId, current[keyed].GetProperty("accountId").GetGuid());
        Assert.Equal(sender.AccountId, current[otherOwnDevice].GetProperty("accountId").GetGuid());
        Assert.Equal(publicKey, current[keyed].GetProperty("publicKey").GetString());
        Assert.Equal(recipient.SignDeviceKey(keyed, publicKey), current[keyed].GetProperty("signature").GetString());
        Assert.False(current[keyless].TryGetProperty("publicKey", out _));
        Assert.False(current[keyless].TryGetProperty("signature", out _));
        Assert.Equal(before, await CountsAsync());
        Assert.Equal(pushedBefore, relay.Production.Counters.Requests + relay.Sandbox.Counters.Requests);
    }

    [Fact]
    public async Task AnEmptyListForARecipientWithADeviceIsA409ProblemThatSaysWhatToDo()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();

        var response = await sender.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { recipient.AccountId }, ciphertexts = Array.Empty<object>() });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.False(string.IsNullOrWhiteSpace((await response.ReadJsonAsync()).GetProperty("detail").GetString()));
    }

    [Theory]
    [InlineData("both")]
    [InlineData("neither")]
    public async Task BothCiphertextAndCiphertextsOrNeitherIs400NamingTheFields(string shape)
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        var before = await CountsAsync();

        var (status, problem) = shape == "both"
            ? await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(), ciphertexts = new[] { new { deviceId, ciphertext = Json.NewCiphertext() } } })
            : await sender.PostMessageAsync(new { to = new[] { recipient.AccountId } });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var fields = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.Contains("ciphertext", fields);
        Assert.Contains("ciphertexts", fields);
        Assert.Equal(before, await CountsAsync());
        Assert.Empty(relay.Production.NotificationsFor(token));
    }

    [Theory]
    [InlineData("no device id")]
    [InlineData("ciphertext not base64")]
    [InlineData("no ciphertext")]
    [InlineData("null entry")]
    public async Task AnIncompleteEntryIs400NamingIt(string shape)
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        var (otherId, _) = await recipient.RegisterDeviceAsync();
        object? entry = shape switch
        {
            "no device id" => new { ciphertext = Json.NewCiphertext() },
            "ciphertext not base64" => new { deviceId = otherId, ciphertext = "not base64" },
            "no ciphertext" => new { deviceId = otherId },
            _ => null,
        };

        var (status, problem) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = new[] { new { deviceId, ciphertext = Json.NewCiphertext() }, entry },
        });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(problem.GetProperty("errors").EnumerateObject(), e => e.Name.StartsWith("ciphertexts[1].", StringComparison.Ordinal));
        Assert.Empty(relay.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task OneCiphertextTooLargeForAPushIs413AndNothingIsSent()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (small, smallToken) = await recipient.RegisterDeviceAsync();
        var (large, largeToken) = await recipient.RegisterDeviceAsync();
        var before = await CountsAsync();

        var (status, problem) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = new[] { new { deviceId = small, ciphertext = Json.NewCiphertext() }, new { deviceId = large, ciphertext = Json.NewCiphertext(4000) } },
        });

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("Ciphertext too large", problem.GetProperty("title").GetString());
        Assert.Equal(before, await CountsAsync());
        Assert.Empty(relay.Production.NotificationsFor(smallToken));
        Assert.Empty(relay.Production.NotificationsFor(largeToken));
    }

    [Fact]
    public async Task EachDevicesInboxHoldsItsOwnCiphertextAndAnAcknowledgementClearsItInTheDatabase()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (first, _) = await recipient.RegisterDeviceAsync();
        var (second, _) = await recipient.RegisterDeviceAsync(environment: "sandbox");
        var ciphertexts = new Dictionary<Guid, string> { [first] = Json.NewCiphertext(), [second] = Json.NewCiphertext() };

        var message = await sender.SendMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            collapseId = "thread-9",
            ciphertexts = ciphertexts.Select(c => new { deviceId = c.Key, ciphertext = c.Value }),
        });
        var messageId = message.GetProperty("messageId").GetGuid();

        foreach (var (deviceId, ciphertext) in ciphertexts)
        {
            var inbox = await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={deviceId}");
            var entry = Assert.Single(inbox.GetProperty("messages").EnumerateArray());
            Assert.Equal(messageId, entry.GetProperty("messageId").GetGuid());
            Assert.Equal(ciphertext, entry.GetProperty("ciphertext").GetString());
            Assert.Equal("thread-9", entry.GetProperty("collapseId").GetString());
        }

        var acked = await recipient.Client.PostAsJsonAsync("/v1/inbox/acks", new { deviceId = first, messageIds = new[] { messageId } });
        Assert.Equal(1, (await acked.ReadJsonAsync()).GetProperty("acknowledged").GetInt32());

        var firstDelivery = message.Delivery(first).GetProperty("apnsId").GetGuid();
        var secondDelivery = message.Delivery(second).GetProperty("apnsId").GetGuid();
        Assert.Equal(1, await relay.Database.CountAsync($"deliveries WHERE id = '{firstDelivery}' AND status = 'delivered' AND ciphertext IS NULL"));
        // The other device has not acknowledged: its own ciphertext waits in its inbox.
        Assert.Equal(1, await relay.Database.CountAsync($"deliveries WHERE id = '{secondDelivery}' AND ciphertext IS NOT NULL"));
        Assert.Empty((await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={first}")).GetProperty("messages").EnumerateArray());
        var left = Assert.Single((await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={second}")).GetProperty("messages").EnumerateArray());
        Assert.Equal(ciphertexts[second], left.GetProperty("ciphertext").GetString());
    }

    [Fact]
    public async Task AFailedDeliveryLosesItsOwnCiphertextAtOnce()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (dead, deadToken) = await recipient.RegisterDeviceAsync();
        var (alive, _) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(deadToken, MockApnsBehavior.BadDeviceToken);

        var message = await sender.SendMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = new[] { new { deviceId = dead, ciphertext = Json.NewCiphertext() }, new { deviceId = alive, ciphertext = Json.NewCiphertext() } },
        });

        Assert.Equal("failed", message.Delivery(dead).GetProperty("status").GetString());
        Assert.Equal(1, await relay.Database.CountAsync($"deliveries WHERE id = '{message.Delivery(dead).GetProperty("apnsId").GetGuid()}' AND ciphertext IS NULL"));
        Assert.Equal(1, await relay.Database.CountAsync($"deliveries WHERE id = '{message.Delivery(alive).GetProperty("apnsId").GetGuid()}' AND ciphertext IS NOT NULL"));
    }

    [Fact]
    public async Task AnIdempotentRepeatWithTheSameCiphertextsAnswersTheFirstMessageAndADifferentOneIs422()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (first, firstToken) = await recipient.RegisterDeviceAsync();
        var (second, secondToken) = await recipient.RegisterDeviceAsync();
        var ciphertexts = new[] { new { deviceId = first, ciphertext = Json.NewCiphertext() }, new { deviceId = second, ciphertext = Json.NewCiphertext() } };
        var key = Guid.NewGuid().ToString();

        var (status, original) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertexts }, key);
        Assert.Equal(HttpStatusCode.OK, status);
        var (repeatStatus, repeat) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertexts = new[] { ciphertexts[1], ciphertexts[0] } }, key);
        var swapped = new[] { ciphertexts[0] with { ciphertext = ciphertexts[1].ciphertext }, ciphertexts[1] with { ciphertext = ciphertexts[0].ciphertext } };
        var (swappedStatus, swappedProblem) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertexts = swapped }, key);
        var (sharedStatus, _) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = ciphertexts[0].ciphertext }, key);

        Assert.Equal(HttpStatusCode.OK, repeatStatus);
        Assert.Equal(original.GetProperty("messageId").GetGuid(), repeat.GetProperty("messageId").GetGuid());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, swappedStatus);
        Assert.Equal("Idempotency-Key reused", swappedProblem.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, sharedStatus);
        Assert.Single(relay.Production.NotificationsFor(firstToken));
        Assert.Single(relay.Production.NotificationsFor(secondToken));
        Assert.Equal(1, await relay.Database.CountAsync($"messages WHERE sender_account_id = '{sender.AccountId}'"));
    }

    [Fact]
    public async Task ARecipientWithoutDevicesTakesAnEmptyListAndGetsNoDelivery()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();

        var message = await sender.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertexts = Array.Empty<object>() });

        Assert.Empty(message.GetProperty("deliveries").EnumerateArray());
    }

    [Fact]
    public async Task ASealedSendLearnsTheDevicesOnlyWithTheRightKeyAndThenEachDeviceGetsItsOwn()
    {
        var bob = await relay.CreateAccountAsync();
        var (phone, phoneToken) = await bob.RegisterDeviceAsync();
        var (tablet, tabletToken) = await bob.RegisterDeviceAsync();
        var key = await bob.SetDeliveryKeyAsync(required: false);
        var ciphertexts = new Dictionary<Guid, string> { [phone] = Json.NewCiphertext(), [tablet] = Json.NewCiphertext() };
        var before = await CountsAsync();

        var (wrongKeyStatus, wrongKey, wrongKeyResponse) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = bob.AccountId, deliveryKey = DeliveryKeyCalls.NewKey() } },
            ciphertexts = new[] { new { deviceId = phone, ciphertext = ciphertexts[phone] } },
        });
        wrongKeyResponse.Dispose();
        var (staleStatus, stale, staleResponse) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = bob.AccountId, deliveryKey = key } },
            ciphertexts = new[] { new { deviceId = phone, ciphertext = ciphertexts[phone] } },
        });
        staleResponse.Dispose();

        Assert.Equal(HttpStatusCode.Unauthorized, wrongKeyStatus);
        Assert.False(wrongKey.TryGetProperty("devices", out _));
        Assert.Equal(HttpStatusCode.Conflict, staleStatus);
        Assert.Equal(new HashSet<Guid> { phone, tablet }, stale.GetProperty("devices").EnumerateArray().Select(d => d.GetProperty("deviceId").GetGuid()).ToHashSet());
        Assert.Equal(before, await CountsAsync());

        var (status, _, response) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = bob.AccountId, deliveryKey = key } },
            ciphertexts = ciphertexts.Select(c => new { deviceId = c.Key, ciphertext = c.Value }),
        });
        response.Dispose();

        Assert.Equal(HttpStatusCode.OK, status);
        foreach (var (deviceId, token) in new[] { (phone, phoneToken), (tablet, tabletToken) })
        {
            using var body = JsonDocument.Parse(Assert.Single(relay.Production.NotificationsFor(token)).Body);
            Assert.Equal(ciphertexts[deviceId], body.RootElement.GetProperty("ciphertext").GetString());
        }
    }

    private async Task<(long, long)> CountsAsync() =>
        (await relay.Database.CountAsync("messages"), await relay.Database.CountAsync("deliveries"));
}

/// <summary>A device connected over the realtime channel gets its own ciphertext, live and from its inbox on connect.</summary>
public sealed class PerDeviceRealtimeTests(RealtimeRelayFactory relay) : IClassFixture<RealtimeRelayFactory>
{
    [Fact]
    public async Task AConnectedDeviceGetsItsOwnCiphertextLiveAndAnotherGetsItsOwnOnConnect()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (online, onlineToken) = await recipient.RegisterDeviceAsync();
        var (offline, _) = await recipient.RegisterDeviceAsync();
        var ciphertexts = new Dictionary<Guid, string> { [online] = Json.NewCiphertext(), [offline] = Json.NewCiphertext() };
        await using var live = await relay.ConnectAsync(recipient, online, autoAck: true);

        var (status, message) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = ciphertexts.Select(c => new { deviceId = c.Key, ciphertext = c.Value }),
        });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("delivered", message.Delivery(online).GetProperty("status").GetString());
        Assert.Empty(relay.Production.NotificationsFor(onlineToken));
        Assert.All(live.Messages, m => Assert.Equal(ciphertexts[online], m.GetProperty("ciphertext").GetString()));
        Assert.NotEmpty(live.Messages);

        await using var later = await relay.ConnectAsync(recipient, offline);
        await later.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10));
        var replayed = Assert.Single(later.Messages);
        Assert.Equal(message.GetProperty("messageId").GetGuid(), replayed.GetProperty("messageId").GetGuid());
        Assert.Equal(ciphertexts[offline], replayed.GetProperty("ciphertext").GetString());
    }
}

/// <summary>The size policy holds for every per-device ciphertext.</summary>
public sealed class PerDevicePrivacyTests(PrivacyRelayFactory relay) : IClassFixture<PrivacyRelayFactory>
{
    [Fact]
    public async Task OneCiphertextOfAnotherSizeRefusesTheWholeMessage()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (fits, fitsToken) = await recipient.RegisterDeviceAsync();
        var (odd, oddToken) = await recipient.RegisterDeviceAsync();

        var (status, problem) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = new[] { new { deviceId = fits, ciphertext = Json.NewCiphertext(32) }, new { deviceId = odd, ciphertext = Json.NewCiphertext(48) } },
        });
        var (okStatus, _) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = new[] { new { deviceId = fits, ciphertext = Json.NewCiphertext(32) }, new { deviceId = odd, ciphertext = Json.NewCiphertext(64) } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Ciphertext size not allowed", problem.GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.OK, okStatus);
        Assert.Single(relay.Production.NotificationsFor(fitsToken));
        Assert.Single(relay.Production.NotificationsFor(oddToken));
    }
}

/// <summary>A per-device ciphertext serves every retry of its delivery, and goes when the delivery expires.</summary>
public sealed class PerDeviceRetryTests(DeliveryRelayFactory relay) : IClassFixture<DeliveryRelayFactory>
{
    [Fact]
    public async Task ADeliveryThatExpiresRetryingLosesItsOwnCiphertext()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (down, downToken) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(downToken, MockApnsBehavior.ServiceUnavailable);

        var (status, message) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ttlSeconds = 0,
            ciphertexts = new[] { new { deviceId = down, ciphertext = Json.NewCiphertext() } },
        });
        Assert.Equal(HttpStatusCode.OK, status);
        var messageId = message.GetProperty("messageId").GetGuid();

        var rows = await relay.WaitUntilFinalAsync([messageId], DeliveryRelayFactory.ImmediateRetryWindow + TimeSpan.FromSeconds(10));

        var row = Assert.Single(rows.Values);
        Assert.Equal(("failed", "Expired"), (row.Status, row.Reason));
        Assert.Empty(relay.Production.NotificationsFor(downToken));
        Assert.Equal(1, await relay.Database.CountAsync($"deliveries WHERE message_id = '{messageId}' AND ciphertext IS NULL"));
    }

    [Fact]
    public async Task ARetryCarriesTheDevicesOwnCiphertext()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (flaky, flakyToken) = await recipient.RegisterDeviceAsync();
        var (steady, steadyToken) = await recipient.RegisterDeviceAsync();
        var ciphertexts = new Dictionary<Guid, string> { [flaky] = Json.NewCiphertext(), [steady] = Json.NewCiphertext() };
        relay.Production.Script(flakyToken, MockApnsBehavior.InternalServerError.Times(1));

        var (status, message) = await sender.PostMessageAsync(new
        {
            to = new[] { recipient.AccountId },
            ciphertexts = ciphertexts.Select(c => new { deviceId = c.Key, ciphertext = c.Value }),
        });

        Assert.Equal(HttpStatusCode.OK, status);
        var retried = Assert.Single(await relay.Production.WaitForNotificationsAsync(flakyToken, 1, TimeSpan.FromSeconds(15)));
        Assert.Equal(message.Delivery(flaky).GetProperty("apnsId").GetString(), retried.ApnsId);
        using var body = JsonDocument.Parse(retried.Body);
        Assert.Equal(ciphertexts[flaky], body.RootElement.GetProperty("ciphertext").GetString());
        using var steadyBody = JsonDocument.Parse(Assert.Single(relay.Production.NotificationsFor(steadyToken)).Body);
        Assert.Equal(ciphertexts[steady], steadyBody.RootElement.GetProperty("ciphertext").GetString());
    }
}
