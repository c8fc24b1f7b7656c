using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Client;

namespace Relay.Api.Tests.Sdk;

/// <summary>
/// The SDK against a real relay (Kestrel on loopback, PostgreSQL, the mock APNs over HTTP/2 TLS): sign-in, devices,
/// sends and their idempotency, pushes that open with the device's key, the realtime channel with its acks, inbox and
/// delivery updates, reconnection after the network drops, and account deletion. Only the SDK talks to the relay.
/// </summary>
public sealed class SdkTests(SdkRelayFactory relay) : IClassFixture<SdkRelayFactory>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task TwoAccountsSignInAndAnEnvelopeSealedToADeviceIsPushedToItOpeningToTheExactPlaintext()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();

        var again = await bob.Relay.Devices.RegisterAsync(device.Token, RelayFactory.ChatTopic, ApnsEnvironment.Production);
        var listed = Assert.Single(await bob.Relay.Devices.ListAsync());
        var body = "see you at eight"u8.ToArray();
        var ciphertext = alice.Relay.Envelopes.Seal(device.Key.PublicKey.Span, EnvelopeKind.Message, body);
        var sent = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = ciphertext });

        Assert.NotEqual(alice.AccountId, bob.AccountId);
        Assert.Equal((device.DeviceId, false), (again.DeviceId, again.IsNew));
        Assert.Equal((device.DeviceId, ApnsEnvironment.Production, device.Token[..8]), (listed.DeviceId, listed.Environment, listed.TokenPrefix));
        var delivery = Assert.Single(sent.Deliveries);
        Assert.Equal((bob.AccountId, device.DeviceId, DeliveryStatus.Sent), (delivery.AccountId, delivery.DeviceId, delivery.Status));
        var push = Assert.Single(relay.Production.NotificationsFor(device.Token));
        var (messageId, pushed) = Pushes.Read(push);
        Assert.Equal(sent.MessageId, messageId);
        Assert.Equal(ciphertext, pushed);
        var opened = device.Key.Open(pushed);
        Assert.Equal((EnvelopeKind.Message, alice.AccountId), (opened.Kind, opened.Sender));
        Assert.Equal(body, opened.Body.ToArray());
        Assert.Throws<EnvelopeException>(() => DeviceKeyPair.Create().Open(pushed));

        var state = await alice.Relay.Messages.GetAsync(sent.MessageId);
        var current = Assert.Single(state.Deliveries);
        Assert.Equal((DeliveryStatus.Sent, 1, delivery.ApnsId), (current.Status, current.Attempts, current.ApnsId));
    }

    [Fact]
    public async Task ARepeatedSendWithTheSameIdempotencyKeyIsOneMessageAndOnePush()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();
        var message = new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = new byte[] { 1, 2, 3, 4 }, IdempotencyKey = "chat-1-message-1" };

        var first = await alice.Relay.Messages.SendAsync(message);
        var repeat = await alice.Relay.Messages.SendAsync(message);
        var reused = await Assert.ThrowsAsync<RelayApiException>(() => alice.Relay.Messages.SendAsync(
            new OutgoingMessage { To = message.To, Ciphertext = new byte[] { 9 }, IdempotencyKey = message.IdempotencyKey }));

        Assert.Equal(first.MessageId, repeat.MessageId);
        Assert.Single(relay.Production.NotificationsFor(device.Token));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, "Idempotency-Key reused"), (reused.StatusCode, reused.Title));
    }

    [Fact]
    public async Task ARefusedSendIsAnExceptionWithTheRelaysProblem()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        var stranger = Guid.NewGuid();

        var refused = await Assert.ThrowsAsync<RelayApiException>(() =>
            alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(stranger)], Ciphertext = new byte[] { 1 } }));

        Assert.Equal((HttpStatusCode.NotFound, "Unknown account"), (refused.StatusCode, refused.Title));
        Assert.Equal(stranger, refused.Problem!.Value.GetProperty("accountId").GetGuid());
        Assert.Contains(alice.Traffic.Lines, l => l == "POST /v1/messages 404");
        Assert.Single(alice.Traffic.Lines, l => l.StartsWith("POST /v1/messages", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ARealtimeDeviceGetsTheMessageThroughTheSdkAndItsAutomaticAckMakesItDeliveredWithoutAPush()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();
        var received = new ConcurrentQueue<ReceivedMessage>();
        await using var live = bob.Relay.Realtime.Create(device.DeviceId);
        live.MessageReceived += message =>
        {
            received.Enqueue(message);
            return Task.CompletedTask;
        };
        await live.StartAsync();

        var ciphertext = alice.Relay.Envelopes.Seal(device.Key.PublicKey.Span, EnvelopeKind.Call, "alice"u8.ToArray());
        var sent = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = ciphertext, CollapseId = "call-1" });

        Assert.Equal(HubConnectionState.Connected, live.State);
        Assert.Equal(DeliveryStatus.Delivered, Assert.Single(sent.Deliveries).Status);
        var message = Assert.Single(received);
        Assert.Equal((sent.MessageId, "call-1"), (message.MessageId, message.CollapseId));
        Assert.Equal(ciphertext, message.Ciphertext.ToArray());
        Assert.Equal(EnvelopeKind.Call, device.Key.Open(message.Ciphertext.Span).Kind);
        await Task.Delay(SdkRelayFactory.AckTimeout * 2);
        Assert.Empty(relay.Production.NotificationsFor(device.Token));
        Assert.Equal(DeliveryStatus.Delivered, Assert.Single((await alice.Relay.Messages.GetAsync(sent.MessageId)).Deliveries).Status);
    }

    [Fact]
    public async Task AnOfflineDevicesInboxComesOldestFirstOnConnectAndOverRestAndAcknowledgedMessagesLeaveIt()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();
        var sent = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            sent.Add((await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = new byte[] { (byte)i, 7 } })).MessageId);
        }

        var firstPage = await bob.Relay.Inbox.ListAsync(device.DeviceId, limit: 2);
        var all = new List<Guid>();
        await foreach (var message in bob.Relay.Inbox.ReadAllAsync(device.DeviceId))
        {
            all.Add(message.MessageId);
        }

        var received = new ConcurrentQueue<ReceivedMessage>();
        await using (var live = bob.Relay.Realtime.Create(device.DeviceId, new RealtimeConnectionOptions { AcknowledgeAutomatically = false }))
        {
            live.MessageReceived += message =>
            {
                received.Enqueue(message);
                return Task.CompletedTask;
            };
            await live.StartAsync();
            Assert.True(await Eventually.TrueAsync(() => received.Count >= 3, Wait), $"{received.Count} of 3 arrived");
            Assert.Equal(2, await live.AckAsync(sent[..2]));
            Assert.Equal(0, await live.AckAsync(sent[..1]));
        }

        var acknowledged = await bob.Relay.Inbox.AcknowledgeAsync(device.DeviceId, [sent[2]]);
        var left = await bob.Relay.Inbox.ListAsync(device.DeviceId);

        Assert.Equal(sent[..2], firstPage.Messages.Select(m => m.MessageId));
        Assert.True(firstPage.More);
        Assert.Equal(sent, all);
        Assert.Equal(sent, received.Select(m => m.MessageId));
        Assert.Equal(new byte[] { 0, 7 }, received.First().Ciphertext.ToArray());
        Assert.Equal(1, acknowledged);
        Assert.Empty(left.Messages);
        Assert.False(left.More);
    }

    [Fact]
    public async Task TheSenderHearsOfALaterAcknowledgementOnItsOwnRealtimeConnection()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var aliceDevice = await alice.AddDeviceAsync();
        var bobDevice = await bob.AddDeviceAsync();
        var updates = new ConcurrentQueue<DeliveryUpdate>();
        await using var aliceLive = alice.Relay.Realtime.Create(aliceDevice.DeviceId);
        aliceLive.DeliveryUpdated += update =>
        {
            updates.Enqueue(update);
            return Task.CompletedTask;
        };
        await aliceLive.StartAsync();

        var sent = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = new byte[] { 5 } });
        await bob.Relay.Inbox.AcknowledgeAsync(bobDevice.DeviceId, [sent.MessageId]);

        Assert.Equal(DeliveryStatus.Sent, Assert.Single(sent.Deliveries).Status);
        Assert.True(await Eventually.TrueAsync(() => updates.Any(u => u.MessageId == sent.MessageId), Wait), "no DeliveryUpdated");
        var update = updates.Single(u => u.MessageId == sent.MessageId);
        Assert.Equal((bob.AccountId, bobDevice.DeviceId, DeliveryStatus.Delivered), (update.AccountId, update.DeviceId, update.Status));
    }

    [Fact]
    public async Task ARealtimeConnectionCutByTheNetworkComesBackByItselfAndGetsWhatWasSentMeanwhile()
    {
        await using var proxy = new LoopbackProxy(relay.Address);
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay, proxy.Address);
        var device = await bob.AddDeviceAsync();
        var received = new ConcurrentQueue<Guid>();
        var reconnecting = 0;
        var reconnected = 0;
        await using var live = bob.Relay.Realtime.Create(device.DeviceId);
        live.MessageReceived += message =>
        {
            received.Enqueue(message.MessageId);
            return Task.CompletedTask;
        };
        live.Reconnecting += _ =>
        {
            Interlocked.Increment(ref reconnecting);
            return Task.CompletedTask;
        };
        live.Reconnected += _ =>
        {
            Interlocked.Increment(ref reconnected);
            return Task.CompletedTask;
        };
        await live.StartAsync();
        var before = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = new byte[] { 1 } });

        proxy.Refusing = true;
        proxy.DropAll();
        Assert.True(await Eventually.TrueAsync(() => reconnecting > 0, Wait), "the drop went unnoticed");
        var meanwhile = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = new byte[] { 2 } });
        proxy.Refusing = false;

        Assert.True(await Eventually.TrueAsync(() => reconnected > 0 && received.Contains(meanwhile.MessageId), TimeSpan.FromSeconds(20)),
            $"state {live.State}, reconnected {reconnected}, received {received.Count}");
        Assert.Equal(DeliveryStatus.Delivered, Assert.Single(before.Deliveries).Status);
        Assert.Equal(DeliveryStatus.Sent, Assert.Single(meanwhile.Deliveries).Status);
        Assert.Equal([before.MessageId, meanwhile.MessageId], received.Distinct());
        Assert.True(await Eventually.TrueAsync(
            async () => (await alice.Relay.Messages.GetAsync(meanwhile.MessageId)).Deliveries[0].Status == DeliveryStatus.Delivered, Wait),
            "the message that waited in the inbox was not acknowledged after reconnecting");
    }

    [Fact]
    public async Task DeletingTheAccountThroughTheSdkEndsItsSessionAndClosesItsRealtimeConnectionForGood()
    {
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var live = bob.Relay.Realtime.Create(device.DeviceId);
        live.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        await live.StartAsync();

        await bob.Relay.Accounts.DeleteAsync();
        var afterwards = await Assert.ThrowsAsync<RelayApiException>(() => bob.Relay.Devices.ListAsync());

        Assert.Equal((HttpStatusCode.NotFound, "Unknown account"), (afterwards.StatusCode, afterwards.Title));
        await closed.Task.WaitAsync(Wait);
        Assert.Equal(HubConnectionState.Disconnected, live.State);
        // The identity key could create a new account; the SDK never does that behind the app's back.
        Assert.Single(bob.Traffic.Lines, l => l.StartsWith("POST /v1/accounts ", StringComparison.Ordinal));
    }
}
