using System.Net;
using Relay.Client;

namespace Relay.Api.Tests.Sdk;

/// <summary>A relay that takes only three ciphertext sizes (<c>Privacy:CiphertextSizes</c>).</summary>
public sealed class PaddedRelayFactory : SdkRelayFactory
{
    public static readonly int[] CiphertextSizes = [320, 600, 1500];

    protected override IEnumerable<(string Key, string Value)> MoreSettings =>
        CiphertextSizes.Select((size, i) => ($"Privacy:CiphertextSizes:{i}", size.ToString(System.Globalization.CultureInfo.InvariantCulture)));
}

/// <summary>
/// An SDK told the relay's ciphertext sizes pads every envelope to one of them, so the relay takes each; one that
/// was not told pads to its own buckets and is refused naming the sizes allowed.
/// </summary>
public sealed class SdkPaddingTests(PaddedRelayFactory relay) : IClassFixture<PaddedRelayFactory>
{
    [Fact]
    public async Task EnvelopesPaddedToEachOfTheRelaysSizesAreAcceptedAndOpenFromThePush()
    {
        using var alice = await SdkUser.SignUpAsync(relay, configure: o => o.CiphertextSizes = PaddedRelayFactory.CiphertextSizes);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();

        var lengths = new List<int>();
        foreach (var bodyLength in new[] { 10, 300, 900 })
        {
            var body = new byte[bodyLength];
            Random.Shared.NextBytes(body);
            var ciphertext = alice.Relay.Envelopes.Seal(device.Key.PublicKey.Span, EnvelopeKind.Message, body);
            var sent = await alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = ciphertext });
            var push = relay.Production.NotificationsFor(device.Token).Single(n => Pushes.Read(n).MessageId == sent.MessageId);
            var pushed = Pushes.Read(push).Ciphertext;
            lengths.Add(pushed.Length);
            Assert.Equal(body, device.Key.Open(pushed).Body.ToArray());
        }

        Assert.Equal(PaddedRelayFactory.CiphertextSizes, lengths);
    }

    [Fact]
    public async Task AnSdkNotToldTheSizesIsRefusedWithTheSizesAllowed()
    {
        using var alice = await SdkUser.SignUpAsync(relay);
        using var bob = await SdkUser.SignUpAsync(relay);
        var device = await bob.AddDeviceAsync();

        var ciphertext = alice.Relay.Envelopes.Seal(device.Key.PublicKey.Span, EnvelopeKind.Message, "hi"u8.ToArray());
        var refused = await Assert.ThrowsAsync<RelayApiException>(() =>
            alice.Relay.Messages.SendAsync(new OutgoingMessage { To = [new(bob.AccountId)], Ciphertext = ciphertext }));

        Assert.Equal(256 + RelayEnvelope.Overhead, ciphertext.Length);
        Assert.Equal((HttpStatusCode.BadRequest, "Ciphertext size not allowed"), (refused.StatusCode, refused.Title));
        Assert.Equal(PaddedRelayFactory.CiphertextSizes, refused.Problem!.Value.GetProperty("allowedCiphertextSizes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Empty(relay.Production.NotificationsFor(device.Token));
    }
}
