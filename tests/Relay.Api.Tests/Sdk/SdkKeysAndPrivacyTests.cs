using System.Collections.Concurrent;
using System.Net;
using NSec.Cryptography;
using Relay.Client;

namespace Relay.Api.Tests.Sdk;

/// <summary>
/// The SDK with the relay's device keys (<c>PUT /v1/devices/{id}/key</c>, <c>GET /v1/accounts/{id}/devices</c>),
/// per-device ciphertexts and their <c>409</c>, delivery keys and sealed sends: two accounts, keys published and
/// verified, one envelope per device that only that device opens, a stale view of the devices refreshed, and who may
/// wake a phone.
/// </summary>
public sealed class SdkKeysAndPrivacyTests(SdkRelayFactory relay) : IClassFixture<SdkRelayFactory>
{
    [Fact]
    public async Task PublishedDeviceKeysVerifyAgainstTheTrustedIdentityKeyAndNoOther()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var tablet = await bob.AddDeviceWithKeyAsync();
        await bob.AddDeviceAsync();
        var alicesDevice = await alice.AddDeviceAsync();

        var trusted = await alice.Relay.Devices.GetKeysAsync(bob.AccountId, bob.PublicIdentityKey);
        var impostor = await alice.Relay.Devices.GetKeysAsync(bob.AccountId, alice.PublicIdentityKey);
        var notBobs = await Assert.ThrowsAsync<RelayApiException>(() => bob.Relay.Devices.PublishKeyAsync(alicesDevice.DeviceId, DeviceKeyPair.Create().PublicKey));

        Assert.Equal(
            new[] { (phone.DeviceId, Convert.ToBase64String(phone.Key.PublicKey.Span)), (tablet.DeviceId, Convert.ToBase64String(tablet.Key.PublicKey.Span)) }.Order(),
            trusted.Verified.Select(k => (k.DeviceId, Convert.ToBase64String(k.PublicKey.Span))).Order());
        Assert.Empty(trusted.Rejected);
        Assert.Empty(impostor.Verified);
        Assert.Equal(new[] { phone.DeviceId, tablet.DeviceId }.Order(), impostor.Rejected.Select(k => k.DeviceId).Order());
        Assert.Equal(HttpStatusCode.NotFound, notBobs.StatusCode);
    }

    [Fact]
    public async Task APerDeviceEnvelopeIsPushedToEachDeviceAndOpensWithThatDevicesKeyOnlyToTheExactPlaintext()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var tablet = await bob.AddDeviceWithKeyAsync();
        var body = "see you at eight"u8.ToArray();
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        var sent = await alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient()], EnvelopeKind.Message, body);

        Assert.Equal(new[] { phone.DeviceId, tablet.DeviceId }.Order(), sent.Deliveries.Select(d => d.DeviceId).Order());
        Assert.All(sent.Deliveries, d => Assert.Equal(DeliveryStatus.Sent, d.Status));
        var pushes = new Dictionary<Guid, byte[]>();
        foreach (var (device, other) in new[] { (phone, tablet), (tablet, phone) })
        {
            var (messageId, ciphertext) = Pushes.Read(Assert.Single(relay.Production.NotificationsFor(device.Token)));
            Assert.Equal(sent.MessageId, messageId);
            var opened = device.Key.Open(ciphertext);
            Assert.Equal((EnvelopeKind.Message, alice.AccountId), (opened.Kind, opened.Sender));
            Assert.Equal(body, opened.Body.ToArray());
            Assert.InRange(opened.SentAt, before, DateTimeOffset.UtcNow);
            Assert.Equal(EnvelopeFailure.NotForThisKey, Assert.Throws<EnvelopeException>(() => other.Key.Open(ciphertext)).Failure);
            pushes[device.DeviceId] = ciphertext;
        }

        Assert.NotEqual(pushes[phone.DeviceId], pushes[tablet.DeviceId]);
    }

    [Fact]
    public async Task AStaleViewOfTheRecipientsDevicesIsRefreshedOnTheRelays409AndTheSendSucceeds()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        await alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient()], EnvelopeKind.Message, "first"u8.ToArray());
        var tablet = await bob.AddDeviceWithKeyAsync();
        alice.Traffic.Clear();

        var sent = await alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient()], EnvelopeKind.Message, "second"u8.ToArray());

        Assert.Equal(
            ["POST /v1/messages 409", $"GET /v1/accounts/{bob.AccountId:D}/devices 200", "POST /v1/messages 200"],
            alice.Traffic.Lines);
        Assert.Equal(new[] { phone.DeviceId, tablet.DeviceId }.Order(), sent.Deliveries.Select(d => d.DeviceId).Order());
        var (_, ciphertext) = Pushes.Read(Assert.Single(relay.Production.NotificationsFor(tablet.Token)));
        Assert.Equal("second"u8.ToArray(), tablet.Key.Open(ciphertext).Body.ToArray());
        Assert.Equal(2, relay.Production.NotificationsFor(phone.Token).Count);
    }

    [Fact]
    public async Task APerDeviceEnvelopeReachesAConnectedDeviceLiveAsItsOwnCiphertextAndItsAckSparesThePush()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var tablet = await bob.AddDeviceWithKeyAsync();
        var received = new ConcurrentQueue<EnvelopePlaintext>();
        await using var live = bob.Relay.Realtime.Create(phone.DeviceId);
        live.MessageReceived += message =>
        {
            received.Enqueue(phone.Key.Open(message.Ciphertext.Span));
            return Task.CompletedTask;
        };
        await live.StartAsync();

        var sent = await alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient()], EnvelopeKind.Call, "alice"u8.ToArray());

        Assert.Equal(DeliveryStatus.Delivered, sent.Deliveries.Single(d => d.DeviceId == phone.DeviceId).Status);
        Assert.Equal(DeliveryStatus.Sent, sent.Deliveries.Single(d => d.DeviceId == tablet.DeviceId).Status);
        var call = Assert.Single(received);
        Assert.Equal((EnvelopeKind.Call, alice.AccountId), (call.Kind, call.Sender));
        await Task.Delay(SdkRelayFactory.AckTimeout * 2);
        Assert.Empty(relay.Production.NotificationsFor(phone.Token));
    }

    [Fact]
    public async Task ARequiredDeliveryKeyDecidesWhoMayWakeThePhone()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var key = AccountsClient.CreateDeliveryKey();

        await bob.Relay.Accounts.SetDeliveryKeyAsync(key, required: true);
        var state = await bob.Relay.Accounts.GetDeliveryKeyAsync();
        var withoutKey = await Assert.ThrowsAsync<RelayApiException>(() =>
            alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient()], EnvelopeKind.Call, "alice"u8.ToArray()));
        var pushesBefore = relay.Production.NotificationsFor(phone.Token).Count;
        var withKey = await alice.Relay.Messages.SendEnvelopeAsync([bob.AsRecipient() with { DeliveryKey = key }], EnvelopeKind.Call, "alice"u8.ToArray());
        await bob.Relay.Accounts.RemoveDeliveryKeyAsync();
        var removed = await bob.Relay.Accounts.GetDeliveryKeyAsync();

        Assert.Equal(new DeliveryKeyState(true, true), state);
        Assert.Equal(HttpStatusCode.Forbidden, withoutKey.StatusCode);
        Assert.Equal(0, pushesBefore);
        Assert.Equal(DeliveryStatus.Sent, Assert.Single(withKey.Deliveries).Status);
        Assert.Equal(new DeliveryKeyState(false, false), removed);
    }

    [Fact]
    public async Task ASealedEnvelopeGoesWithoutTheSendersTokenAndAWrongDeliveryKeyIsRefused()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var key = AccountsClient.CreateDeliveryKey();
        await bob.Relay.Accounts.SetDeliveryKeyAsync(key, required: false);
        alice.Traffic.Clear();

        var sent = await alice.Relay.Messages.SendEnvelopeAsync(
            [bob.AsRecipient() with { DeliveryKey = key }], EnvelopeKind.Message, "from someone"u8.ToArray(), new EnvelopeSendOptions { Sealed = true });
        var wrongKey = await Assert.ThrowsAsync<RelayApiException>(() => alice.Relay.Messages.SendEnvelopeAsync(
            [bob.AsRecipient() with { DeliveryKey = AccountsClient.CreateDeliveryKey() }], EnvelopeKind.Message, "x"u8.ToArray(), new EnvelopeSendOptions { Sealed = true }));

        var delivery = Assert.Single(sent.Deliveries);
        Assert.Equal((phone.DeviceId, DeliveryStatus.Sent, (Guid?)null), (delivery.DeviceId, delivery.Status, delivery.ApnsId));
        var sealedPost = alice.Traffic.Exchanges.First(e => e.Path == "/v1/messages/sealed");
        Assert.Equal((HttpStatusCode.OK, false), (sealedPost.Status, sealedPost.HadBearer));
        Assert.Equal(HttpStatusCode.Unauthorized, wrongKey.StatusCode);
        var (_, ciphertext) = Pushes.Read(Assert.Single(relay.Production.NotificationsFor(phone.Token)));
        Assert.Equal("from someone"u8.ToArray(), phone.Key.Open(ciphertext).Body.ToArray());
    }

    [Fact]
    public async Task ASealedSendGoesOverAConnectionOfItsOwnSoTheRelayCannotLinkItToTheSendersRequests()
    {
        using var bob = await SdkUser.SignUpAsync(relay);
        var phone = await bob.AddDeviceWithKeyAsync();
        var key = AccountsClient.CreateDeliveryKey();
        await bob.Relay.Accounts.SetDeliveryKeyAsync(key, required: true);
        await using var proxy = new LoopbackProxy(relay.Address);
        using var identityKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });

        // The SDK's own HTTP client, as an app would use it: no handler given.
        using var alice = new RelayClient(new RelayClientOptions { BaseAddress = proxy.Address, IdentityKey = identityKey });
        await alice.SignInAsync();
        var before = proxy.Forwarded;
        await alice.Messages.SendEnvelopeAsync(
            [bob.AsRecipient() with { DeliveryKey = key }], EnvelopeKind.Message, "who?"u8.ToArray(), new EnvelopeSendOptions { Sealed = true });
        var afterSealed = proxy.Forwarded;
        await alice.Messages.SendEnvelopeAsync([bob.AsRecipient() with { DeliveryKey = key }], EnvelopeKind.Message, "me"u8.ToArray());

        Assert.Equal(1, before);
        Assert.Equal(2, afterSealed);
        Assert.Equal(2, proxy.Forwarded);
        Assert.Equal(2, relay.Production.NotificationsFor(phone.Token).Count);
    }
}
