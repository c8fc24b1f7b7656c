using System.Buffers.Binary;
using System.Security.Cryptography;
using NSec.Cryptography;
using ChaCha20Poly1305 = System.Security.Cryptography.ChaCha20Poly1305;

namespace Relay.Client;

/// <summary>
/// HPKE (RFC 9180) in base mode for exactly one suite: DHKEM(X25519, HKDF-SHA256) (KEM 0x0020), HKDF-SHA256
/// (KDF 0x0001) and ChaCha20Poly1305 (AEAD 0x0003), the suite CryptoKit calls
/// <c>HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly</c>. An instance is one encryption context: the sender's from
/// <see cref="SetupBaseS(ReadOnlySpan{byte}, ReadOnlySpan{byte}, out byte[])"/>, the recipient's from
/// <see cref="SetupBaseR"/>; each <see cref="Seal"/> or <see cref="Open"/> uses the next sequence number's nonce.
/// </summary>
/// <remarks>
/// X25519 comes from NSec (libsodium), HKDF and ChaCha20Poly1305 from the framework. Keys are raw 32-byte X25519
/// keys (SerializePublicKey/SerializePrivateKey of RFC 9180 §7.1.1–7.1.2). A Diffie-Hellman output of all zeros
/// (a low-order public key) is refused, as §7.1.4 requires. Not thread-safe: a context's sequence number is its state.
/// </remarks>
internal sealed class Hpke : IDisposable
{
    public const ushort KemId = 0x0020;
    public const ushort KdfId = 0x0001;
    public const ushort AeadId = 0x0003;

    /// <summary>Nenc, Npk and Nsk: an encapsulated key, a public key and a private key are each 32 bytes.</summary>
    public const int KeyLength = 32;

    /// <summary>Nt: the ChaCha20Poly1305 tag.</summary>
    public const int TagLength = 16;

    private const int SecretLength = 32; // Nsecret and Nh (SHA-256)
    private const int AeadKeyLength = 32; // Nk
    private const int NonceLength = 12; // Nn

    private static readonly byte[] KemSuiteId = [.. "KEM"u8, KemId >> 8, KemId & 0xff];
    private static readonly byte[] HpkeSuiteId = [.. "HPKE"u8, KemId >> 8, KemId & 0xff, KdfId >> 8, KdfId & 0xff, AeadId >> 8, AeadId & 0xff];

    private readonly ChaCha20Poly1305 aead;
    private readonly byte[] baseNonce;
    private readonly byte[] exporterSecret;
    private ulong sequenceNumber;

    private Hpke(KeyScheduleValues values)
    {
        aead = new ChaCha20Poly1305(values.Key);
        baseNonce = values.BaseNonce;
        exporterSecret = values.ExporterSecret;
        CryptographicOperations.ZeroMemory(values.Key);
        CryptographicOperations.ZeroMemory(values.Secret);
    }

    /// <summary>The values KeySchedule computes (RFC 9180 §5.1), kept apart so tests can check each.</summary>
    internal sealed record KeyScheduleValues(byte[] KeyScheduleContext, byte[] Secret, byte[] Key, byte[] BaseNonce, byte[] ExporterSecret);

    /// <summary>SetupBaseS: a sender's context to <paramref name="recipientPublicKey"/>, with a fresh ephemeral key.</summary>
    /// <param name="recipientPublicKey">The recipient's 32-byte X25519 public key.</param>
    /// <param name="info">Application-supplied information binding the context to its use.</param>
    /// <param name="enc">The encapsulated key to send with the ciphertexts.</param>
    public static Hpke SetupBaseS(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, out byte[] enc)
    {
        var ephemeralPrivateKey = RandomNumberGenerator.GetBytes(KeyLength);
        try
        {
            return SetupBaseS(recipientPublicKey, info, ephemeralPrivateKey, out enc);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ephemeralPrivateKey);
        }
    }

    /// <summary>SetupBaseS with a given ephemeral private key: deterministic, for test vectors only.</summary>
    internal static Hpke SetupBaseS(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> info, ReadOnlySpan<byte> ephemeralPrivateKey, out byte[] enc)
    {
        var sharedSecret = Encap(recipientPublicKey, ephemeralPrivateKey, out enc);
        try
        {
            return new Hpke(KeySchedule(sharedSecret, info));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>SetupBaseR: the recipient's context for an encapsulated key.</summary>
    /// <param name="enc">The sender's encapsulated key (32 bytes).</param>
    /// <param name="recipientPrivateKey">The recipient's 32-byte X25519 private key.</param>
    /// <param name="info">The same information the sender used.</param>
    public static Hpke SetupBaseR(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> info)
    {
        var sharedSecret = Decap(enc, recipientPrivateKey);
        try
        {
            return new Hpke(KeySchedule(sharedSecret, info));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(sharedSecret);
        }
    }

    /// <summary>DeriveKeyPair for X25519 (RFC 9180 §7.1.3): a key pair from input keying material.</summary>
    internal static (byte[] PrivateKey, byte[] PublicKey) DeriveKeyPair(ReadOnlySpan<byte> ikm)
    {
        var dkpPrk = LabeledExtract(KemSuiteId, [], "dkp_prk"u8, ikm);
        var privateKey = LabeledExpand(KemSuiteId, dkpPrk, "sk"u8, [], KeyLength);
        CryptographicOperations.ZeroMemory(dkpPrk);
        return (privateKey, PublicKeyOf(privateKey));
    }

    /// <summary>pk(sk): the raw X25519 public key of a raw private key.</summary>
    public static byte[] PublicKeyOf(ReadOnlySpan<byte> privateKey)
    {
        using var key = ImportPrivateKey(privateKey);
        return key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
    }

    /// <summary>Encap (RFC 9180 §4.1) with a given ephemeral private key; returns the KEM shared secret.</summary>
    internal static byte[] Encap(ReadOnlySpan<byte> recipientPublicKey, ReadOnlySpan<byte> ephemeralPrivateKey, out byte[] enc)
    {
        using var ephemeral = ImportPrivateKey(ephemeralPrivateKey);
        var dh = DiffieHellman(ephemeral, recipientPublicKey);
        enc = ephemeral.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        byte[] kemContext = [.. enc, .. recipientPublicKey];
        return ExtractAndExpand(dh, kemContext);
    }

    /// <summary>Decap (RFC 9180 §4.1): the KEM shared secret from an encapsulated key.</summary>
    internal static byte[] Decap(ReadOnlySpan<byte> enc, ReadOnlySpan<byte> recipientPrivateKey)
    {
        using var recipient = ImportPrivateKey(recipientPrivateKey);
        var dh = DiffieHellman(recipient, enc);
        byte[] kemContext = [.. enc, .. recipient.PublicKey.Export(KeyBlobFormat.RawPublicKey)];
        return ExtractAndExpand(dh, kemContext);
    }

    /// <summary>KeySchedule (RFC 9180 §5.1) for mode_base: no PSK.</summary>
    internal static KeyScheduleValues KeySchedule(ReadOnlySpan<byte> sharedSecret, ReadOnlySpan<byte> info)
    {
        const byte ModeBase = 0x00;
        var pskIdHash = LabeledExtract(HpkeSuiteId, [], "psk_id_hash"u8, []);
        var infoHash = LabeledExtract(HpkeSuiteId, [], "info_hash"u8, info);
        byte[] context = [ModeBase, .. pskIdHash, .. infoHash];
        var secret = LabeledExtract(HpkeSuiteId, sharedSecret, "secret"u8, []);
        return new KeyScheduleValues(
            context,
            secret,
            LabeledExpand(HpkeSuiteId, secret, "key"u8, context, AeadKeyLength),
            LabeledExpand(HpkeSuiteId, secret, "base_nonce"u8, context, NonceLength),
            LabeledExpand(HpkeSuiteId, secret, "exp"u8, context, SecretLength));
    }

    /// <summary>Encrypts with the next sequence number's nonce; returns ciphertext ‖ 16-byte tag.</summary>
    public byte[] Seal(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> plaintext)
    {
        var ciphertext = new byte[plaintext.Length + TagLength];
        Span<byte> nonce = stackalloc byte[NonceLength];
        ComputeNonce(nonce);
        aead.Encrypt(nonce, plaintext, ciphertext.AsSpan(0, plaintext.Length), ciphertext.AsSpan(plaintext.Length), aad);
        IncrementSequenceNumber();
        return ciphertext;
    }

    /// <summary>Decrypts with the next sequence number's nonce.</summary>
    /// <exception cref="AuthenticationTagMismatchException">The tag does not verify: wrong key, nonce, aad or an altered ciphertext.</exception>
    public byte[] Open(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> ciphertext)
    {
        if (ciphertext.Length < TagLength)
        {
            throw new AuthenticationTagMismatchException();
        }

        var plaintext = new byte[ciphertext.Length - TagLength];
        Span<byte> nonce = stackalloc byte[NonceLength];
        ComputeNonce(nonce);
        aead.Decrypt(nonce, ciphertext[..plaintext.Length], ciphertext[plaintext.Length..], plaintext, aad);
        IncrementSequenceNumber();
        return plaintext;
    }

    /// <summary>Export (RFC 9180 §5.3): a secret of <paramref name="length"/> bytes bound to this context.</summary>
    public byte[] Export(ReadOnlySpan<byte> exporterContext, int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, 255 * SecretLength);
        return LabeledExpand(HpkeSuiteId, exporterSecret, "sec"u8, exporterContext, length);
    }

    /// <summary>Forgets the context's keys.</summary>
    public void Dispose()
    {
        aead.Dispose();
        CryptographicOperations.ZeroMemory(baseNonce);
        CryptographicOperations.ZeroMemory(exporterSecret);
    }

    private void ComputeNonce(Span<byte> nonce)
    {
        // base_nonce XOR I2OSP(seq, Nn); the sequence number fits the last 8 bytes.
        baseNonce.CopyTo(nonce);
        var tail = nonce[(NonceLength - sizeof(ulong))..];
        BinaryPrimitives.WriteUInt64BigEndian(tail, BinaryPrimitives.ReadUInt64BigEndian(tail) ^ sequenceNumber);
    }

    private void IncrementSequenceNumber()
    {
        // RFC 9180 allows up to 2^96 - 1; a 64-bit counter stops earlier rather than ever reusing a nonce.
        if (sequenceNumber == ulong.MaxValue)
        {
            throw new CryptographicException("The HPKE context has sealed or opened its last message.");
        }

        sequenceNumber++;
    }

    private static Key ImportPrivateKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyLength)
        {
            throw new CryptographicException($"An X25519 private key is {KeyLength} bytes, not {privateKey.Length}.");
        }

        return Key.Import(KeyAgreementAlgorithm.X25519, privateKey, KeyBlobFormat.RawPrivateKey);
    }

    /// <summary>DH(sk, pk): the raw X25519 output. NSec refuses an all-zero output, as RFC 9180 §7.1.4 requires.</summary>
    private static byte[] DiffieHellman(Key privateKey, ReadOnlySpan<byte> publicKey)
    {
        if (publicKey.Length != KeyLength
            || !PublicKey.TryImport(KeyAgreementAlgorithm.X25519, publicKey, KeyBlobFormat.RawPublicKey, out var other))
        {
            throw new CryptographicException($"Not a {KeyLength}-byte X25519 public key.");
        }

        var parameters = new SharedSecretCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        // NSec answers an all-zero output with null.
        using var secret = KeyAgreementAlgorithm.X25519.Agree(privateKey, other!, in parameters)
            ?? throw new CryptographicException("X25519 key agreement failed: the public key is of low order.");
        return secret.Export(SharedSecretBlobFormat.RawSharedSecret);
    }

    private static byte[] ExtractAndExpand(byte[] dh, ReadOnlySpan<byte> kemContext)
    {
        var eaePrk = LabeledExtract(KemSuiteId, [], "eae_prk"u8, dh);
        CryptographicOperations.ZeroMemory(dh);
        var sharedSecret = LabeledExpand(KemSuiteId, eaePrk, "shared_secret"u8, kemContext, SecretLength);
        CryptographicOperations.ZeroMemory(eaePrk);
        return sharedSecret;
    }

    private static byte[] LabeledExtract(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> label, ReadOnlySpan<byte> ikm)
    {
        byte[] labeledIkm = [.. "HPKE-v1"u8, .. suiteId, .. label, .. ikm];
        var prk = new byte[SecretLength];
        HKDF.Extract(HashAlgorithmName.SHA256, labeledIkm, salt, prk);
        CryptographicOperations.ZeroMemory(labeledIkm);
        return prk;
    }

    private static byte[] LabeledExpand(ReadOnlySpan<byte> suiteId, ReadOnlySpan<byte> prk, ReadOnlySpan<byte> label, ReadOnlySpan<byte> info, int length)
    {
        byte[] labeledInfo = [(byte)(length >> 8), (byte)length, .. "HPKE-v1"u8, .. suiteId, .. label, .. info];
        var okm = new byte[length];
        HKDF.Expand(HashAlgorithmName.SHA256, prk, okm, labeledInfo);
        return okm;
    }
}
