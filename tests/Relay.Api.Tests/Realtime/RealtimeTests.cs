using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Api.Tests.Delivery;
using Relay.Api.Tests.Privacy;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Realtime;

/// <summary>
/// The realtime channel and the inbox, over real WebSockets on Kestrel with the .NET SignalR client: who may
/// connect, live delivery instead of a push, the ack timeout, the inbox on connect and over REST, delivery updates
/// to the sender, and connections closed when their device goes.
/// </summary>
public sealed class RealtimeTests(RealtimeRelayFactory relay, ITestOutputHelper output) : IClassFixture<RealtimeRelayFactory>
{
    private static readonly string Ciphertext = Convert.ToBase64String("realtime ciphertext"u8.ToArray());

    [Fact]
    public async Task ConnectionsWithoutAValidTokenOrWithADeviceNotTheCallersActiveOneAreRefused()
    {
        var owner = await relay.CreateAccountAsync();
        var stranger = await relay.CreateAccountAsync();
        var (device, _) = await owner.RegisterDeviceAsync();
        var (deleted, _) = await owner.RegisterDeviceAsync();
        (await owner.Client.DeleteAsync($"/v1/devices/{deleted}")).EnsureSuccessStatusCode();
        var (invalidated, _) = await owner.RegisterDeviceAsync();
        await relay.Database.ExecuteAsync("UPDATE devices SET invalidated_at = now(), invalid_reason = 'Unregistered' WHERE id = $1", invalidated);

        using var anonymous = relay.CreateRelayClient();
        async Task<HttpResponseMessage> NegotiateAsync(Guid? deviceId, string? bearer)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/realtime/negotiate?negotiateVersion=1{(deviceId is null ? "" : $"&deviceId={deviceId:D}")}");
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            return await anonymous.SendAsync(request);
        }

        var token = owner.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        await AssertProblemAsync(await NegotiateAsync(device, null), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await NegotiateAsync(device, "not-a-token"), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await NegotiateAsync(device, token[..^4] + "AAAA"), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await NegotiateAsync(null, token), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await NegotiateAsync(device, stranger.Client.DefaultRequestHeaders.Authorization!.Parameter), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await NegotiateAsync(deleted, token), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await NegotiateAsync(invalidated, token), HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, (await NegotiateAsync(device, token)).StatusCode);

        // Skipping negotiation does not skip the gate: the WebSocket upgrade itself is refused.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => relay.ConnectAsync(stranger, device, skipNegotiation: true));
        output.WriteLine($"skipNegotiation with another account's device: {refused.GetType().Name}: {refused.Message}");
        // Only this device: another test's connection may still be closing on the shared relay.
        Assert.Null(relay.Connections.ConnectionOf(device));

        // A browser's client puts the token in the query string.
        using var viaQuery = new HttpRequestMessage(HttpMethod.Post, new Uri(relay.HubAddress(device, token).ToString().Replace("/v1/realtime?", "/v1/realtime/negotiate?negotiateVersion=1&", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(viaQuery)).StatusCode);
    }

    [Fact]
    public async Task AConnectedDeviceThatAcknowledgesIsDeliveredAndNeverPushed()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var device = await relay.ConnectAsync(recipient, deviceId, autoAck: true);

        var (status, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext, collapseId = "thread-1" });

        Assert.Equal(HttpStatusCode.OK, status);
        var delivery = body.GetProperty("deliveries")[0];
        Assert.Equal("delivered", delivery.GetProperty("status").GetString());
        // It may come twice (live, and from the inbox replay that a connection starts with): the app drops copies by id.
        var message = device.Messages.First();
        Assert.Equal(body.GetProperty("messageId").GetGuid(), Assert.Single(device.MessageIds.Distinct()));
        Assert.Equal(Ciphertext, message.GetProperty("ciphertext").GetString());
        Assert.Equal("thread-1", message.GetProperty("collapseId").GetString());
        Assert.True(message.GetProperty("expiresAt").GetDateTimeOffset() > message.GetProperty("sentAt").GetDateTimeOffset());
        await Task.Delay(RealtimeRelayFactory.AckTimeout * 2);
        Assert.Empty(relay.Production.NotificationsFor(token));
        var rows = await relay.Database.QueryDeliveriesAsync([body.GetProperty("messageId").GetGuid()]);
        Assert.Equal("delivered", Assert.Single(rows.Values).Status);
        // Nothing is owed any more: the ciphertext is gone.
        Assert.Equal(0L, await relay.Database.CountAsync($"messages WHERE id = '{body.GetProperty("messageId").GetGuid()}' AND ciphertext IS NOT NULL"));
    }

    [Fact]
    public async Task ASilentDeviceIsPushedAfterTheAckTimeoutAndALaterAckMakesItDelivered()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var device = await relay.ConnectAsync(recipient, deviceId);

        var posted = Stopwatch.StartNew();
        var started = DateTimeOffset.UtcNow;
        var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
        var answered = posted.Elapsed;
        var messageId = body.GetProperty("messageId").GetGuid();

        Assert.Equal("sent", body.GetProperty("deliveries")[0].GetProperty("status").GetString());
        var pushed = Assert.Single(await relay.Production.WaitForNotificationsAsync(token, 1, TimeSpan.FromSeconds(5)));
        var delay = pushed.ReceivedAt - started;
        output.WriteLine($"pushed {delay.TotalMilliseconds:F0} ms after the post (ack timeout {RealtimeRelayFactory.AckTimeout.TotalMilliseconds} ms); answered after {answered.TotalMilliseconds:F0} ms");
        Assert.True(delay >= RealtimeRelayFactory.AckTimeout, $"pushed after {delay}, before the ack timeout");
        Assert.True(delay < RealtimeRelayFactory.AckTimeout + TimeSpan.FromSeconds(5), $"pushed only after {delay}");
        Assert.Equal(messageId, Assert.Single(device.MessageIds.Distinct()));

        Assert.Equal(1, await device.AckAsync(messageId));
        Assert.Equal(0, await device.AckAsync(messageId));
        var state = await sender.Client.GetFromJsonAsync<JsonElement>($"/v1/messages/{messageId}");
        Assert.Equal("delivered", state.GetProperty("deliveries")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task AnOfflineDeviceGetsItsInboxOldestFirstOnConnectAndAcknowledgedMessagesNeverComeAgain()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        var sent = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Convert.ToBase64String([(byte)i, 1, 2]) });
            Assert.Equal("sent", body.GetProperty("deliveries")[0].GetProperty("status").GetString());
            sent.Add(body.GetProperty("messageId").GetGuid());
        }

        Assert.Equal(3, relay.Production.NotificationsFor(token).Count);

        // REST first: the same list, oldest first, in pages.
        var page = await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={deviceId}&limit=2");
        Assert.Equal(sent[..2], page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("messageId").GetGuid()));
        Assert.True(page.GetProperty("more").GetBoolean());
        var rest = await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={deviceId}&after={sent[1]}");
        Assert.Equal([sent[2]], rest.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("messageId").GetGuid()));
        Assert.False(rest.GetProperty("more").GetBoolean());

        await using (var device = await relay.ConnectAsync(recipient, deviceId))
        {
            await device.WaitForMessagesAsync(3, TimeSpan.FromSeconds(5));
            Assert.Equal(sent, device.MessageIds);
            Assert.Equal(Convert.ToBase64String([0, 1, 2]), device.Messages.First().GetProperty("ciphertext").GetString());
            Assert.Equal(2, await device.AckAsync(sent[0], sent[1]));
        }

        // The REST twin acknowledges the last one.
        var acked = await recipient.Client.PostAsJsonAsync("/v1/inbox/acks", new { deviceId, messageIds = new[] { sent[2], Guid.NewGuid() } });
        Assert.Equal(1, (await acked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("acknowledged").GetInt32());

        await using (var again = await relay.ConnectAsync(recipient, deviceId))
        {
            await Task.Delay(500);
            Assert.Empty(again.Messages);
        }

        var empty = await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={deviceId}");
        Assert.Equal(0, empty.GetProperty("messages").GetArrayLength());
        var rows = await relay.Database.QueryDeliveriesAsync(sent);
        Assert.All(rows.Values, r => Assert.Equal("delivered", r.Status));
        Assert.Equal(0L, await relay.Database.CountAsync($"messages WHERE id IN ('{string.Join("','", sent)}') AND ciphertext IS NOT NULL"));
    }

    [Fact]
    public async Task AFullInboxDropsTheOldestAndCountsThem()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, _) = await recipient.RegisterDeviceAsync();
        var sent = new List<Guid>();
        for (var i = 0; i < RealtimeRelayFactory.MaxInbox + 2; i++)
        {
            var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
            sent.Add(body.GetProperty("messageId").GetGuid());
        }

        // The dispatcher trims inboxes every few seconds.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        List<Guid> listed;
        do
        {
            await Task.Delay(250);
            var inbox = await recipient.Client.GetFromJsonAsync<JsonElement>($"/v1/inbox?deviceId={deviceId}");
            listed = [.. inbox.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("messageId").GetGuid())];
        }
        while (listed.Count > RealtimeRelayFactory.MaxInbox && DateTime.UtcNow < until);

        Assert.Equal(sent[2..], listed);
        var metrics = await relay.CreateRelayClient().GetStringAsync("/metrics");
        Assert.Contains("relay_inbox_dropped", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheSendersDevicesGetDeliveryUpdatesFromRetryingToSentToDelivered()
    {
        var sender = await relay.CreateAccountAsync();
        var (senderDevice, _) = await sender.RegisterDeviceAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.ServiceUnavailable.Times(1));
        await using var watcher = await relay.ConnectAsync(sender, senderDevice);

        var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
        var messageId = body.GetProperty("messageId").GetGuid();
        Assert.Equal("retrying", body.GetProperty("deliveries")[0].GetProperty("status").GetString());

        var sent = await watcher.WaitForUpdateAsync(u => u.GetProperty("status").GetString() == "sent", TimeSpan.FromSeconds(10));
        Assert.NotNull(sent);
        Assert.Equal(messageId, sent.Value.GetProperty("messageId").GetGuid());
        Assert.Equal(recipient.AccountId, sent.Value.GetProperty("accountId").GetGuid());
        Assert.Equal(deviceId, sent.Value.GetProperty("deviceId").GetGuid());

        var acked = await recipient.Client.PostAsJsonAsync("/v1/inbox/acks", new { deviceId, messageIds = new[] { messageId } });
        acked.EnsureSuccessStatusCode();
        var delivered = await watcher.WaitForUpdateAsync(u => u.GetProperty("status").GetString() == "delivered", TimeSpan.FromSeconds(5));
        Assert.NotNull(delivered);
        Assert.Equal(messageId, delivered.Value.GetProperty("messageId").GetGuid());
        // The answer already said "retrying": no update repeats it.
        Assert.DoesNotContain(watcher.Updates, u => u.GetProperty("status").GetString() == "retrying");
    }

    [Fact]
    public async Task SendingToOnesOwnAccountReachesTheOtherDevicesButNotTheSendingOne()
    {
        var account = await relay.CreateAccountAsync();
        var (phone, phoneToken) = await account.RegisterDeviceAsync();
        var (tablet, tabletToken) = await account.RegisterDeviceAsync();

        var (status, body) = await account.PostMessageAsync(new { to = new[] { account.AccountId }, ciphertext = Ciphertext, fromDeviceId = phone });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(tablet, Assert.Single(body.GetProperty("deliveries").EnumerateArray()).GetProperty("deviceId").GetGuid());
        Assert.Single(relay.Production.NotificationsFor(tabletToken));
        Assert.Empty(relay.Production.NotificationsFor(phoneToken));
    }

    [Fact]
    public async Task DeletingOrMovingADeviceClosesItsConnectionAndANewConnectionClosesTheOlder()
    {
        var account = await relay.CreateAccountAsync();
        var (deleted, _) = await account.RegisterDeviceAsync();
        var (moved, movedToken) = await account.RegisterDeviceAsync();
        var (twice, _) = await account.RegisterDeviceAsync();
        await using var first = await relay.ConnectAsync(account, deleted);
        await using var second = await relay.ConnectAsync(account, moved);
        await using var older = await relay.ConnectAsync(account, twice);

        var clock = Stopwatch.StartNew();
        (await account.Client.DeleteAsync($"/v1/devices/{deleted}")).EnsureSuccessStatusCode();
        await first.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"deleted device's connection closed after {clock.ElapsedMilliseconds} ms");

        var other = await relay.CreateAccountAsync();
        clock.Restart();
        await other.RegisterDeviceAsync(token: movedToken);
        await second.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"moved device's connection closed after {clock.ElapsedMilliseconds} ms");

        await using var newer = await relay.ConnectAsync(account, twice);
        await older.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HubConnectionState.Connected, newer.Connection.State);

        // The relay forgets a closed connection a moment after the client sees it close.
        var deadline = Stopwatch.StartNew();
        while (relay.Connections.All().Count(c => c.AccountId == account.AccountId) != 1 && deadline.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }

        Assert.Equal([(account.AccountId, twice)], relay.Connections.All().Where(c => c.AccountId == account.AccountId).Select(c => (c.AccountId, c.DeviceId)));
    }

    [Fact]
    public async Task DeletingAnAccountClosesItsConnectionsDropsItsInboxAndRefusesItsTokensAtOnce()
    {
        var sender = await relay.CreateAccountAsync();
        var account = await relay.CreateAccountAsync();
        var (phone, phoneToken) = await account.RegisterDeviceAsync();
        var (tablet, _) = await account.RegisterDeviceAsync();
        var (_, waiting) = await sender.PostMessageAsync(new { to = new[] { account.AccountId }, ciphertext = Ciphertext });
        Assert.Equal(2, waiting.GetProperty("deliveries").GetArrayLength());
        await using var connected = await relay.ConnectAsync(account, phone);
        var identityKey = account.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey);

        var deleted = await account.Client.DeleteAsync("/v1/accounts/me");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await connected.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(0L, await relay.Database.CountAsync($"deliveries WHERE device_id IN ('{phone}', '{tablet}')"));
        Assert.Equal(0L, await relay.Database.CountAsync($"devices WHERE account_id = '{account.AccountId}'"));
        foreach (var request in new[]
        {
            new HttpRequestMessage(HttpMethod.Get, "/v1/devices"),
            new HttpRequestMessage(HttpMethod.Get, $"/v1/inbox?deviceId={phone}"),
            new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(new { to = new[] { sender.AccountId }, ciphertext = Ciphertext }) },
            new HttpRequestMessage(HttpMethod.Delete, "/v1/accounts/me"),
        })
        {
            using var refused = await account.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Account gone", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
            Assert.Contains("invalid_token", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        await Assert.ThrowsAnyAsync<Exception>(() => relay.ConnectAsync(account, phone));
        var pushedBefore = relay.Production.NotificationsFor(phoneToken).Count;
        var (status, _) = await sender.PostMessageAsync(new { to = new[] { account.AccountId }, ciphertext = Ciphertext });
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal(pushedBefore, relay.Production.NotificationsFor(phoneToken).Count);

        // The same identity key may come back: as a new account.
        using var anonymous = relay.CreateRelayClient();
        var again = await anonymous.PostAsJsonAsync("/v1/accounts", new { identityKey = Convert.ToBase64String(identityKey) });
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.NotEqual(account.AccountId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accountId").GetGuid());
    }

    [Fact]
    public async Task AfterItsAccountIsDeletedATokenIsRefused401ProblemByEveryAuthenticatedRouteAndTheHub()
    {
        var other = await relay.CreateAccountAsync();
        var account = await relay.CreateAccountAsync();
        var (phone, _) = await account.RegisterDeviceAsync();
        var (_, sent) = await account.PostMessageAsync(new { to = new[] { other.AccountId }, ciphertext = Ciphertext });
        var messageId = sent.GetProperty("messageId").GetGuid();
        Assert.Equal(HttpStatusCode.OK, (await account.Client.GetAsync("/v1/accounts/me/delivery")).StatusCode);

        // Each route asked as its caller would ask it had the account stayed, so only the account can be refused. Route
        // is the endpoint's method and pattern ("*" for the hub's, which take any method): a new route that requires
        // authorization fails this test until it has a case here.
        (string Route, HttpMethod Method, string Path, object? Body)[] cases =
        [
            ("GET /v1/accounts/me/delivery", HttpMethod.Get, "/v1/accounts/me/delivery", null),
            ("PUT /v1/accounts/me/delivery", HttpMethod.Put, "/v1/accounts/me/delivery", new { key = DeliveryKeyCalls.NewKey(), required = true }),
            ("DELETE /v1/accounts/me/delivery", HttpMethod.Delete, "/v1/accounts/me/delivery", null),
            ("DELETE /v1/accounts/me", HttpMethod.Delete, "/v1/accounts/me", null),
            ("POST /v1/devices", HttpMethod.Post, "/v1/devices",
                new { token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), topic = RelayFactory.ChatTopic, environment = "production" }),
            ("GET /v1/devices", HttpMethod.Get, "/v1/devices", null),
            ("DELETE /v1/devices/{deviceId:guid}", HttpMethod.Delete, $"/v1/devices/{phone}", null),
            ("PUT /v1/devices/{deviceId:guid}/key", HttpMethod.Put, $"/v1/devices/{phone}/key",
                new { publicKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), signature = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)) }),
            ("GET /v1/accounts/{accountId:guid}/devices", HttpMethod.Get, $"/v1/accounts/{other.AccountId}/devices", null),
            ("POST /v1/messages", HttpMethod.Post, "/v1/messages", new { to = new[] { other.AccountId }, ciphertext = Ciphertext }),
            ("GET /v1/messages/{messageId:guid}", HttpMethod.Get, $"/v1/messages/{messageId}", null),
            ("GET /v1/inbox", HttpMethod.Get, $"/v1/inbox?deviceId={phone}", null),
            ("POST /v1/inbox/acks", HttpMethod.Post, "/v1/inbox/acks", new { deviceId = phone, messageIds = new[] { messageId } }),
            ("* /v1/realtime/negotiate", HttpMethod.Post, $"/v1/realtime/negotiate?negotiateVersion=1&deviceId={phone}", null),
            // What a client that skips negotiation asks first.
            ("* /v1/realtime", HttpMethod.Get, $"/v1/realtime?deviceId={phone}", null),
        ];
        var authorized = relay.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IAuthorizeData>() is not null)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"));
        Assert.Equal(authorized.Distinct().Order(), cases.Select(c => c.Route).Distinct().Order());

        using var deleted = await account.Client.DeleteAsync("/v1/accounts/me");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        var answers = new List<string>();
        foreach (var (route, method, path, body) in cases)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            using var response = await account.Client.SendAsync(request);
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            var title = mediaType == "application/problem+json"
                ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString()
                : null;
            answers.Add($"{route}: {(int)response.StatusCode} {mediaType} {title}");
        }

        Assert.Equal(cases.Select(c => $"{c.Route}: 401 application/problem+json Account gone"), answers);
    }

    [Fact]
    public async Task ASealedSendGivesNoOneADeliveryUpdateWhileAPlainSendGivesItsSenderOne()
    {
        var sender = await relay.CreateAccountAsync();
        var (senderDevice, _) = await sender.RegisterDeviceAsync();
        var recipient = await relay.CreateAccountAsync();
        var (deviceId, _) = await recipient.RegisterDeviceAsync();
        var key = await recipient.SetDeliveryKeyAsync(required: false);
        await using var watcher = await relay.ConnectAsync(sender, senderDevice);
        await using var device = await relay.ConnectAsync(recipient, deviceId);

        // The device acks only after both answers said "sent": its acks are changes no answer reported, which is
        // what updates are for.
        var (sealedStatus, sealedAnswer, sealedResponse) = await relay.PostSealedAsync(new
        {
            to = new[] { new { accountId = recipient.AccountId, deliveryKey = key } },
            ciphertext = Ciphertext,
        });
        sealedResponse.Dispose();
        var (plainStatus, plainAnswer) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], [sealedStatus, plainStatus]);
        Assert.Equal(["sent", "sent"], new[] { sealedAnswer, plainAnswer }.Select(a => a.GetProperty("deliveries")[0].GetProperty("status").GetString()));
        var sealedId = sealedAnswer.GetProperty("messageId").GetGuid();
        var plainId = plainAnswer.GetProperty("messageId").GetGuid();
        await device.WaitForMessagesAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal([sealedId, plainId], device.MessageIds.Distinct());

        var sinceAcks = Stopwatch.StartNew();
        Assert.Equal(1, await device.AckAsync(sealedId));
        Assert.Equal(1, await device.AckAsync(plainId));

        var control = await watcher.WaitForUpdateAsync(
            u => u.GetProperty("messageId").GetGuid() == plainId && u.GetProperty("status").GetString() == "delivered", TimeSpan.FromSeconds(5));
        Assert.NotNull(control);
        // An update follows its ack within milliseconds; 1.5 s leaves room for a loaded machine.
        var rest = TimeSpan.FromSeconds(1.5) - sinceAcks.Elapsed;
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest);
        }

        Assert.DoesNotContain(watcher.Updates, u => u.GetProperty("messageId").GetGuid() == sealedId);
        Assert.Empty(device.Updates);
        // The ack did change the sealed delivery: there was something an update could have told.
        Assert.Equal("delivered", Assert.Single((await relay.Database.QueryDeliveriesAsync([sealedId])).Values).Status);
    }

    [Fact]
    public async Task AnAccountsConnectionsAreCappedAndAnOversizedHubMessageClosesTheConnection()
    {
        var account = await relay.CreateAccountAsync();
        var connections = new List<DeviceConnection>();
        for (var i = 0; i < RealtimeRelayFactory.MaxConnectionsPerAccount; i++)
        {
            var (deviceId, _) = await account.RegisterDeviceAsync();
            connections.Add(await relay.ConnectAsync(account, deviceId));
        }

        var (oneTooMany, _) = await account.RegisterDeviceAsync();
        var refused = await Assert.ThrowsAsync<HttpRequestException>(() => relay.ConnectAsync(account, oneTooMany));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);

        // 40 KiB of message ids in one Ack: over the 32 KiB cap.
        var huge = Enumerable.Range(0, 1_100).Select(_ => Guid.NewGuid()).ToArray();
        await Assert.ThrowsAnyAsync<Exception>(() => connections[0].Connection.InvokeAsync<int>("Ack", huge));
        await connections[0].ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HubConnectionState.Connected, connections[1].Connection.State);
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
    }
}
