using System.Security.Cryptography;
using System.Text;

namespace Relay.Client.Tests;

public sealed class RelayEnvelopeTests
{
    private static readonly Guid Sender = Guid.Parse("6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5");
    private static readonly DateTimeOffset SentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_764_660_000_123);

    [Theory]
    [InlineData(EnvelopeKind.Message)]
    [InlineData(EnvelopeKind.Call)]
    [InlineData(EnvelopeKind.CallCancel)]
    public void ASealedEnvelopeOpensToTheSamePlaintext(EnvelopeKind kind)
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var plaintext = new EnvelopePlaintext(kind, Sender, SentAt, "see you at eight"u8.ToArray());

        var opened = RelayEnvelope.Open(privateKey, RelayEnvelope.Seal(publicKey, plaintext));

        Assert.Equal(kind, opened.Kind);
        Assert.Equal(Sender, opened.Sender);
        Assert.Equal(SentAt, opened.SentAt);
        Assert.Equal(plaintext.Body.ToArray(), opened.Body.ToArray());
    }

    [Fact]
    public void ThePlaintextIsVersionOneJsonWithKindNamesAndBase64WrittenAsIs()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        byte[] body = [0xfb, 0xef, 0xff, 0x00];

        var json = RelayEnvelope.OpenJson(privateKey, RelayEnvelope.Seal(publicKey, new EnvelopePlaintext(EnvelopeKind.CallCancel, Sender, SentAt, body)));

        Assert.Equal(
            """{"v":1,"kind":"call-cancel","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1764660000123,"body":"++//AA=="}""",
            json);
    }

    [Theory]
    [InlineData(0, 256)]
    [InlineData(100, 256)]
    [InlineData(300, 512)]
    [InlineData(600, 1024)]
    [InlineData(1200, 2048)]
    public void WithoutSizesTheCiphertextIsTheSmallestBucketThatFitsPlus48(int bodyLength, int paddedLength)
    {
        var (_, publicKey) = NewDeviceKey();

        var ciphertext = RelayEnvelope.Seal(publicKey, Plaintext(bodyLength));

        Assert.Equal(paddedLength + RelayEnvelope.Overhead, ciphertext.Length);
    }

    [Fact]
    public void APlaintextTooLongForTheLargestBucketIsRefused()
    {
        var (_, publicKey) = NewDeviceKey();

        var refused = Assert.Throws<ArgumentException>(() => RelayEnvelope.Seal(publicKey, Plaintext(1600)));

        Assert.Contains("does not fit 2048 bytes", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void WithTheRelaysCiphertextSizesEveryCiphertextHasOneOfThem()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var padding = EnvelopePadding.ToCiphertextSizes([1024, 400]);

        var small = RelayEnvelope.Seal(publicKey, Plaintext(10), padding);
        var large = RelayEnvelope.Seal(publicKey, Plaintext(400), padding);

        Assert.Equal([352, 976], padding.PaddedLengths);
        Assert.Equal(400, small.Length);
        Assert.Equal(1024, large.Length);
        Assert.Equal(400, RelayEnvelope.Open(privateKey, large).Body.Length);
        Assert.Throws<ArgumentException>(() => RelayEnvelope.Seal(publicKey, Plaintext(800), padding));
        Assert.Throws<ArgumentException>(() => EnvelopePadding.ToCiphertextSizes([48]));
        Assert.Throws<ArgumentException>(() => EnvelopePadding.ToCiphertextSizes([]));
    }

    [Fact]
    public void ToALengthPadsExactlyToItAndNeedsRoomForThePaddingByte()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var plaintext = Plaintext(20);
        var jsonLength = RelayEnvelope.GetPlaintextLength(plaintext);

        var exact = RelayEnvelope.Seal(publicKey, plaintext, EnvelopePadding.ToLength(jsonLength + 1));

        Assert.Equal(jsonLength, Encoding.UTF8.GetByteCount(RelayEnvelope.OpenJson(privateKey, exact)));
        Assert.Equal(jsonLength + 1 + RelayEnvelope.Overhead, exact.Length);
        Assert.Equal(plaintext.Body.ToArray(), RelayEnvelope.Open(privateKey, exact).Body.ToArray());
        Assert.Throws<ArgumentException>(() => RelayEnvelope.Seal(publicKey, plaintext, EnvelopePadding.ToLength(jsonLength)));
    }

    [Fact]
    public void TheWrongPrivateKeyDoesNotOpenIt()
    {
        var (_, publicKey) = NewDeviceKey();
        var (otherPrivateKey, _) = NewDeviceKey();

        var failure = Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(otherPrivateKey, RelayEnvelope.Seal(publicKey, Plaintext(5))));

        Assert.Equal(EnvelopeFailure.NotForThisKey, failure.Failure);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(40)]
    [InlineData(303)]
    public void AnyAlteredByteIsCaught(int index)
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var ciphertext = RelayEnvelope.Seal(publicKey, Plaintext(5));
        ciphertext[index] ^= 0x20;

        var failure = Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(privateKey, ciphertext));

        Assert.Equal(EnvelopeFailure.NotForThisKey, failure.Failure);
    }

    [Fact]
    public void AnEnvelopeNoLongerThanItsOverheadOrWithALowOrderEncIsMalformed()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var ciphertext = RelayEnvelope.Seal(publicKey, Plaintext(5));
        var zeroEnc = (byte[])ciphertext.Clone();
        Array.Clear(zeroEnc, 0, RelayEnvelope.EncapsulatedKeyLength);

        Assert.Equal(EnvelopeFailure.Malformed, Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(privateKey, ciphertext.AsSpan(0, 48))).Failure);
        Assert.Equal(EnvelopeFailure.Malformed, Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(privateKey, zeroEnc)).Failure);
    }

    [Theory]
    [InlineData("00")]
    [InlineData("00000000")]
    [InlineData("7b7d")]
    [InlineData("7b7d8001")]
    [InlineData("7b7d7f00")]
    public void ADecryptedPlaintextWithoutIso7816PaddingIsRefused(string paddedHex)
    {
        var (privateKey, publicKey) = NewDeviceKey();

        var failure = Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(privateKey, SealRaw(publicKey, Convert.FromHexString(paddedHex))));

        Assert.Equal(EnvelopeFailure.BadPadding, failure.Failure);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("null")]
    [InlineData("""{"v":2,"kind":"message","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1,"body":"AA=="}""")]
    [InlineData("""{"v":1,"kind":"sms","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1,"body":"AA=="}""")]
    [InlineData("""{"v":1,"kind":1,"sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1,"body":"AA=="}""")]
    [InlineData("""{"v":1,"kind":"call","sender":"alice","sentAt":1,"body":"AA=="}""")]
    [InlineData("""{"v":1,"kind":"call","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":-1,"body":"AA=="}""")]
    [InlineData("""{"v":1,"kind":"call","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1}""")]
    [InlineData("""{"v":1,"kind":"call","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1,"body":null}""")]
    [InlineData("""{"v":1,"kind":"call","sender":"6f1c2d3e-4a5b-4c6d-8e7f-a0b1c2d3e4f5","sentAt":1,"body":"AA==","body":"AQ=="}""")]
    public void AnOpenedPlaintextThatIsNotVersionOneJsonIsRefused(string json)
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var padded = EnvelopePadding.Pad(Encoding.UTF8.GetBytes(json), 256);

        var failure = Assert.Throws<EnvelopeException>(() => RelayEnvelope.Open(privateKey, SealRaw(publicKey, padded)));

        Assert.Equal(EnvelopeFailure.BadPlaintext, failure.Failure);
    }

    [Fact]
    public void ThePlaintextMayComeAsAnotherEncoderWritesItInAnyOrderWithUpperCaseIdsAndExtraFields()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var json = """{"body":"aGk=","sentAt":1764660000123,"sender":"6F1C2D3E-4A5B-4C6D-8E7F-A0B1C2D3E4F5","kind":"call","v":1,"later":true}""";

        var opened = RelayEnvelope.Open(privateKey, SealRaw(publicKey, EnvelopePadding.Pad(Encoding.UTF8.GetBytes(json), 256)));

        Assert.Equal(new EnvelopePlaintext(EnvelopeKind.Call, Sender, SentAt, opened.Body), opened);
        Assert.Equal("hi"u8.ToArray(), opened.Body.ToArray());
    }

    [Fact]
    public void SealingToAKeyThatIsNotAnX25519PublicKeyIsAnArgumentError()
    {
        Assert.Throws<ArgumentException>(() => RelayEnvelope.Seal(new byte[31], Plaintext(1)));
        Assert.Throws<ArgumentException>(() => RelayEnvelope.Seal(new byte[32], Plaintext(1)));
        Assert.Throws<ArgumentException>(() => RelayEnvelope.Open(new byte[33], new byte[100]));
    }

    [Fact]
    public void EachSealUsesAFreshEphemeralKey()
    {
        var (_, publicKey) = NewDeviceKey();
        var plaintext = Plaintext(5);

        var first = RelayEnvelope.Seal(publicKey, plaintext);
        var second = RelayEnvelope.Seal(publicKey, plaintext);

        Assert.NotEqual(first.AsSpan(0, 32).ToArray(), second.AsSpan(0, 32).ToArray());
        Assert.NotEqual(first, second);
    }

    private static EnvelopePlaintext Plaintext(int bodyLength) =>
        new(EnvelopeKind.Message, Sender, SentAt, RandomNumberGenerator.GetBytes(bodyLength));

    private static (byte[] PrivateKey, byte[] PublicKey) NewDeviceKey()
    {
        var privateKey = RandomNumberGenerator.GetBytes(32);
        return (privateKey, RelayEnvelope.GetPublicKey(privateKey));
    }

    /// <summary>Seals already-padded bytes as the envelope would, to reach what only a faulty sender could produce.</summary>
    private static byte[] SealRaw(byte[] publicKey, byte[] padded)
    {
        using var context = Hpke.SetupBaseS(publicKey, Encoding.UTF8.GetBytes(RelayEnvelope.Info), out var enc);
        return [.. enc, .. context.Seal([], padded)];
    }
}
