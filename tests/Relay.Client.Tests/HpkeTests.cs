using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Client.Tests;

/// <summary>
/// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305, base mode. Every value is
/// copied verbatim from the RFC.
/// </summary>
public sealed class HpkeTests
{
    private static readonly byte[] Info = Hex("4f6465206f6e2061204772656369616e2055726e");
    private static readonly byte[] IkmE = Hex("909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b");
    private static readonly byte[] PkEm = Hex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
    private static readonly byte[] SkEm = Hex("f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600");
    private static readonly byte[] IkmR = Hex("1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df");
    private static readonly byte[] PkRm = Hex("4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a");
    private static readonly byte[] SkRm = Hex("8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb");
    private static readonly byte[] Enc = Hex("1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a");
    private static readonly byte[] SharedSecret = Hex("0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7");
    private static readonly byte[] KeyScheduleContext = Hex(
        "00431df6cd95e11ff49d7013563baf7f11588c75a6611e"
        + "e2a4404a49306ae4cfc5b69c5718a60cc5876c358d3f7fc31ddb598503f67be58ea1"
        + "e798c0bb19eb9796");
    private static readonly byte[] Secret = Hex("5b9cd775e64b437a2335cf499361b2e0d5e444d5cb41a8a53336d8fe402282c6");
    private static readonly byte[] Key = Hex("ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91");
    private static readonly byte[] BaseNonce = Hex("5c4d98150661b848853b547f");
    private static readonly byte[] ExporterSecret = Hex("a3b010d4994890e2c6968a36f64470d3c824c8f5029942feb11e7a74b2921922");
    private static readonly byte[] Plaintext = Hex("4265617574792069732074727574682c20747275746820626561757479");

    /// <summary>A.2.1.1: sequence number, aad, ct.</summary>
    private static readonly (ulong Sequence, byte[] Aad, byte[] Ciphertext)[] Encryptions =
    [
        (0, Hex("436f756e742d30"), Hex("1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db" + "21993c62ce81883d2dd1b51a28")),
        (1, Hex("436f756e742d31"), Hex("6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e" + "85285337cc95ba5f59992dc98c")),
        (2, Hex("436f756e742d32"), Hex("71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02" + "b4f10ecac6f48c32f878fae86b")),
        (4, Hex("436f756e742d34"), Hex("63357a2aa291f5a4e5f27db6baa2af8cf77427c7c1a909e0b37214dd47db122b" + "b153495ff0b02e9e54a50dbe16")),
        (255, Hex("436f756e742d323535"), Hex("18ab939d63ddec9f6ac2b60d61d36a7375d2070c9b683861110757062c52b888" + "0a5f6b3936da9cd6c23ef2a95c")),
        (256, Hex("436f756e742d323536"), Hex("7a4a13e9ef23978e2c520fd4d2e757514ae160cd0cd05e556ef692370ca53076" + "214c0c40d4c728d6ed9e727a5b")),
    ];

    /// <summary>A.2.1.2: exporter_context, exported_value (L = 32).</summary>
    private static readonly (byte[] Context, byte[] Value)[] Exports =
    [
        ([], Hex("4bbd6243b8bb54cec311fac9df81841b6fd61f56538a775e7c80a9f40160606e")),
        (Hex("00"), Hex("8c1df14732580e5501b00f82b10a1647b40713191b7c1240ac80e2b68808ba69")),
        (Hex("54657374436f6e74657874"), Hex("5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53")),
    ];

    [Fact]
    public void DeriveKeyPairTurnsThePublishedIkmIntoThePublishedKeyPairs()
    {
        var ephemeral = Hpke.DeriveKeyPair(IkmE);
        var recipient = Hpke.DeriveKeyPair(IkmR);

        Assert.Equal(SkEm, ephemeral.PrivateKey);
        Assert.Equal(PkEm, ephemeral.PublicKey);
        Assert.Equal(SkRm, recipient.PrivateKey);
        Assert.Equal(PkRm, recipient.PublicKey);
        Assert.Equal(PkRm, Hpke.PublicKeyOf(SkRm));
    }

    [Fact]
    public void EncapWithThePublishedEphemeralKeyGivesThePublishedEncAndSharedSecret()
    {
        var sharedSecret = Hpke.Encap(PkRm, SkEm, out var enc);

        Assert.Equal(Enc, enc);
        Assert.Equal(SharedSecret, sharedSecret);
    }

    [Fact]
    public void DecapWithTheRecipientKeyGivesThePublishedSharedSecret()
    {
        Assert.Equal(SharedSecret, Hpke.Decap(Enc, SkRm));
    }

    [Fact]
    public void KeyScheduleGivesThePublishedContextSecretKeyBaseNonceAndExporterSecret()
    {
        var values = Hpke.KeySchedule(SharedSecret, Info);

        Assert.Equal(KeyScheduleContext, values.KeyScheduleContext);
        Assert.Equal(Secret, values.Secret);
        Assert.Equal(Key, values.Key);
        Assert.Equal(BaseNonce, values.BaseNonce);
        Assert.Equal(ExporterSecret, values.ExporterSecret);
    }

    [Fact]
    public void SenderSealsThePublishedCiphertextAtEverySequenceNumber()
    {
        using var sender = Hpke.SetupBaseS(PkRm, Info, SkEm, out var enc);

        var sealedBySequence = SealCounting(sender, 256);

        Assert.Equal(Enc, enc);
        Assert.All(Encryptions, e => Assert.Equal(e.Ciphertext, sealedBySequence[(int)e.Sequence]));
    }

    [Fact]
    public void RecipientOpensThePublishedCiphertextAtEverySequenceNumber()
    {
        using var sender = Hpke.SetupBaseS(PkRm, Info, SkEm, out _);
        using var recipient = Hpke.SetupBaseR(Enc, SkRm, Info);
        var ciphertexts = SealCounting(sender, 256);
        foreach (var e in Encryptions)
        {
            ciphertexts[(int)e.Sequence] = e.Ciphertext;
        }

        for (var sequence = 0; sequence <= 256; sequence++)
        {
            Assert.Equal(Plaintext, recipient.Open(CountAad(sequence), ciphertexts[sequence]));
        }
    }

    [Fact]
    public void BothContextsExportThePublishedValues()
    {
        using var sender = Hpke.SetupBaseS(PkRm, Info, SkEm, out _);
        using var recipient = Hpke.SetupBaseR(Enc, SkRm, Info);

        Assert.All(Exports, e =>
        {
            Assert.Equal(e.Value, sender.Export(e.Context, 32));
            Assert.Equal(e.Value, recipient.Export(e.Context, 32));
        });
    }

    [Fact]
    public void AnAlteredCiphertextDoesNotOpenAndDoesNotUseUpItsSequenceNumber()
    {
        using var recipient = Hpke.SetupBaseR(Enc, SkRm, Info);
        var altered = (byte[])Encryptions[0].Ciphertext.Clone();
        altered[3] ^= 0x01;

        Assert.Throws<AuthenticationTagMismatchException>(() => recipient.Open(Encryptions[0].Aad, altered));
        Assert.Throws<AuthenticationTagMismatchException>(() => recipient.Open(Encryptions[0].Aad, Encryptions[0].Ciphertext.AsSpan(0, 15)));
        Assert.Equal(Plaintext, recipient.Open(Encryptions[0].Aad, Encryptions[0].Ciphertext));
    }

    [Fact]
    public void ALowOrderPublicKeyIsRefusedRatherThanGivingAnAllZeroSecret()
    {
        // 0 and 1 are points of small order: X25519 with them is all zeros whatever the private key.
        byte[] zero = new byte[32];
        byte[] one = [1, .. new byte[31]];

        Assert.Throws<CryptographicException>(() => Hpke.SetupBaseS(zero, Info, out _));
        Assert.Throws<CryptographicException>(() => Hpke.SetupBaseS(one, Info, out _));
        Assert.Throws<CryptographicException>(() => Hpke.SetupBaseR(zero, SkRm, Info));
    }

    [Fact]
    public void FreshEphemeralKeysGiveDifferentEncsThatTheRecipientStillOpens()
    {
        using var first = Hpke.SetupBaseS(PkRm, Info, out var firstEnc);
        using var second = Hpke.SetupBaseS(PkRm, Info, out var secondEnc);
        var ciphertext = first.Seal([], Plaintext);

        using var recipient = Hpke.SetupBaseR(firstEnc, SkRm, Info);

        Assert.NotEqual(firstEnc, secondEnc);
        Assert.Equal(Plaintext, recipient.Open([], ciphertext));
    }

    private static byte[][] SealCounting(Hpke sender, int lastSequence)
    {
        var ciphertexts = new byte[lastSequence + 1][];
        for (var sequence = 0; sequence <= lastSequence; sequence++)
        {
            ciphertexts[sequence] = sender.Seal(CountAad(sequence), Plaintext);
        }

        return ciphertexts;
    }

    /// <summary>The RFC's aad for sequence number n is the ASCII text <c>Count-n</c>.</summary>
    private static byte[] CountAad(int sequence) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"Count-{sequence}"));

    private static byte[] Hex(string hex) => Convert.FromHexString(hex);
}
