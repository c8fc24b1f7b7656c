using NSec.Cryptography;

namespace Relay.Client.Tests;

/// <summary>
/// The client seals envelopes padded to the relay's configured ciphertext sizes (the smallest that fits, each of
/// them reached), or to 256/512/1024/2048 bytes of plaintext when the relay sets none, and opens them again.
/// </summary>
public sealed class EnvelopesClientTests : IDisposable
{
    private static readonly int[] Sizes = [320, 600, 1500];

    private readonly Key _identityKey = Key.Create(SignatureAlgorithm.Ed25519);

    [Theory]
    [InlineData(0, 320)]
    [InlineData(100, 320)]
    [InlineData(200, 600)]
    [InlineData(300, 600)]
    [InlineData(400, 1500)]
    [InlineData(1000, 1500)]
    public void WithTheRelaysSizesEachEnvelopeIsTheSmallestSizeThatFits(int bodyLength, int ciphertextSize)
    {
        using var relay = Client(Sizes);
        var device = DeviceKeyPair.Create();

        var ciphertext = relay.Envelopes.Seal(device.PublicKey.Span, EnvelopeKind.Message, new byte[bodyLength]);

        Assert.Equal(ciphertextSize, ciphertext.Length);
        var opened = relay.Envelopes.Open(device.ExportPrivateKey(), ciphertext);
        Assert.Equal(bodyLength, opened.Body.Length);
        Assert.Equal(Guid.Parse("0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60"), opened.Sender);
    }

    [Fact]
    public void EveryConfiguredSizeIsReachedAndACallLooksLikeAText()
    {
        using var relay = Client(Sizes);
        var device = DeviceKeyPair.Create();

        var sizes = Enumerable.Range(0, 1000).Select(n => relay.Envelopes.Seal(device.PublicKey.Span, EnvelopeKind.Message, new byte[n]).Length).Distinct().Order();
        var call = relay.Envelopes.Seal(device.PublicKey.Span, EnvelopeKind.Call, "alice"u8.ToArray());
        var text = relay.Envelopes.Seal(device.PublicKey.Span, EnvelopeKind.Message, "see you at eight"u8.ToArray());

        Assert.Equal(Sizes, sizes);
        Assert.Equal(call.Length, text.Length);
        Assert.Equal(EnvelopeKind.Call, device.Open(call).Kind);
    }

    [Fact]
    public void APlaintextLargerThanTheLargestSizeIsRefused()
    {
        using var relay = Client(Sizes);

        Assert.Throws<ArgumentException>(() => relay.Envelopes.Seal(DeviceKeyPair.Create().PublicKey.Span, EnvelopeKind.Message, new byte[1200]));
    }

    [Theory]
    [InlineData(10, 256)]
    [InlineData(200, 512)]
    [InlineData(500, 1024)]
    [InlineData(1200, 2048)]
    public void WithoutSizesThePaddingIsTheDefaultBuckets(int bodyLength, int paddedLength)
    {
        using var relay = Client(sizes: null);

        var ciphertext = relay.Envelopes.Seal(DeviceKeyPair.Create().PublicKey.Span, EnvelopeKind.Message, new byte[bodyLength]);

        Assert.Same(EnvelopePadding.Default, relay.Envelopes.Padding);
        Assert.Equal(paddedLength + RelayEnvelope.Overhead, ciphertext.Length);
    }

    [Fact]
    public void SealingAsTheAccountNeedsTheAccountKnown()
    {
        using var relay = new RelayClient(new RelayClientOptions { BaseAddress = new Uri("http://127.0.0.1:9/"), IdentityKey = _identityKey });

        Assert.Null(relay.AccountId);
        Assert.Throws<InvalidOperationException>(() => relay.Envelopes.Seal(DeviceKeyPair.Create().PublicKey.Span, EnvelopeKind.Message, new byte[1]));
    }

    [Fact]
    public void ADeviceKeyPairComesBackFromItsStoredPrivateKey()
    {
        var device = DeviceKeyPair.Create();

        var restored = DeviceKeyPair.FromPrivateKey(device.ExportPrivateKey());

        Assert.Equal(device.PublicKey.ToArray(), restored.PublicKey.ToArray());
        Assert.Throws<ArgumentException>(() => DeviceKeyPair.FromPrivateKey(new byte[31]));
    }

    public void Dispose() => _identityKey.Dispose();

    private RelayClient Client(int[]? sizes) => new(new RelayClientOptions
    {
        BaseAddress = new Uri("http://127.0.0.1:9/"),
        IdentityKey = _identityKey,
        AccountId = Guid.Parse("0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60"),
        CiphertextSizes = sizes,
    });
}
