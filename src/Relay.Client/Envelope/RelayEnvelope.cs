using System.Security.Cryptography;
using System.Text;

namespace Relay.Client;

/// <summary>
/// The reference end-to-end envelope <c>relay-hpke-v1</c>: a padded JSON plaintext sealed to one device's X25519 key
/// with HPKE (RFC 9180) base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and ChaCha20Poly1305 — CryptoKit's
/// <c>HPKE.Ciphersuite.Curve25519_SHA256_ChachaPoly</c> — with <c>info = "relay-hpke-v1"</c>, empty associated data and
/// one seal per context. The ciphertext is <c>enc</c> (32 bytes) ‖ the AEAD output (padded plaintext + 16-byte tag).
/// </summary>
/// <remarks>
/// The relay never opens an envelope; the recipient's app (on iOS its Notification Service Extension) does. Keys are
/// raw 32-byte X25519 keys, the form CryptoKit's <c>rawRepresentation</c> uses.
/// </remarks>
public static class RelayEnvelope
{
    /// <summary>The HPKE <c>info</c>, as UTF-8.</summary>
    public const string Info = "relay-hpke-v1";

    /// <summary>A ciphertext is the padded plaintext plus this many bytes: 32 of <c>enc</c>, 16 of tag.</summary>
    public const int Overhead = EncapsulatedKeyLength + Hpke.TagLength;

    /// <summary>The length of <c>enc</c>, the ephemeral public key that starts every ciphertext.</summary>
    public const int EncapsulatedKeyLength = Hpke.KeyLength;

    /// <summary>The length of an X25519 public or private key.</summary>
    public const int KeyLength = Hpke.KeyLength;

    private static readonly byte[] InfoBytes = Encoding.UTF8.GetBytes(Info);

    /// <summary>Seals a plaintext to a device's public key, padded by <paramref name="padding"/>.</summary>
    /// <param name="recipientPublicKey">The device's 32-byte X25519 public key.</param>
    /// <param name="plaintext">What to send.</param>
    /// <param name="padding">The allowed padded lengths; <see cref="EnvelopePadding.Default"/> when omitted.</param>
    /// <returns><c>enc ‖ ciphertext ‖ tag</c>: the padded length + <see cref="Overhead"/> bytes.</returns>
    /// <exception cref="ArgumentException">
    /// The key is not a usable X25519 public key, or the plaintext does not fit the padding.
    /// </exception>
    public static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, EnvelopePlaintext plaintext, EnvelopePadding? padding = null) =>
        Seal(recipientPublicKey, plaintext, padding, ephemeralPrivateKey: null);

    /// <summary>Seal with a chosen ephemeral private key: deterministic, for test vectors only.</summary>
    internal static byte[] Seal(ReadOnlySpan<byte> recipientPublicKey, EnvelopePlaintext plaintext, EnvelopePadding? padding, byte[]? ephemeralPrivateKey)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        if (recipientPublicKey.Length != KeyLength)
        {
            throw new ArgumentException($"An X25519 public key is {KeyLength} bytes, not {recipientPublicKey.Length}.", nameof(recipientPublicKey));
        }

        var json = EnvelopeJson.Serialize(plaintext);
        var padded = EnvelopePadding.Pad(json, (padding ?? EnvelopePadding.Default).GetPaddedLength(json.Length));
        Hpke context;
        byte[] enc;
        try
        {
            context = ephemeralPrivateKey is null
                ? Hpke.SetupBaseS(recipientPublicKey, InfoBytes, out enc)
                : Hpke.SetupBaseS(recipientPublicKey, InfoBytes, ephemeralPrivateKey, out enc);
        }
        catch (CryptographicException e)
        {
            throw new ArgumentException($"Not a usable X25519 public key: {e.Message}", nameof(recipientPublicKey), e);
        }

        using (context)
        {
            return [.. enc, .. context.Seal([], padded)];
        }
    }

    /// <summary>
    /// The length of a plaintext's JSON before padding: a padded length must be more than this, to hold the
    /// <c>0x80</c> byte too.
    /// </summary>
    public static int GetPlaintextLength(EnvelopePlaintext plaintext)
    {
        ArgumentNullException.ThrowIfNull(plaintext);
        return EnvelopeJson.Serialize(plaintext).Length;
    }

    /// <summary>Opens an envelope with the device's private key.</summary>
    /// <param name="recipientPrivateKey">The device's 32-byte X25519 private key.</param>
    /// <param name="ciphertext">The envelope as sealed.</param>
    /// <exception cref="EnvelopeException">It does not open; <see cref="EnvelopeException.Failure"/> says why.</exception>
    public static EnvelopePlaintext Open(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> ciphertext) =>
        OpenCore(recipientPrivateKey, ciphertext, out _);

    /// <summary>
    /// Opens an envelope and returns its plaintext JSON text exactly as sealed, padding removed — after checking it is
    /// a valid version 1 plaintext, as <see cref="Open"/> does.
    /// </summary>
    /// <exception cref="EnvelopeException">It does not open; <see cref="EnvelopeException.Failure"/> says why.</exception>
    public static string OpenJson(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> ciphertext)
    {
        OpenCore(recipientPrivateKey, ciphertext, out var json);
        return Encoding.UTF8.GetString(json);
    }

    /// <summary>The public key of a device's private key: what the device publishes.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public static byte[] GetPublicKey(ReadOnlySpan<byte> privateKey)
    {
        if (privateKey.Length != KeyLength)
        {
            throw new ArgumentException($"An X25519 private key is {KeyLength} bytes, not {privateKey.Length}.", nameof(privateKey));
        }

        return Hpke.PublicKeyOf(privateKey);
    }

    private static EnvelopePlaintext OpenCore(ReadOnlySpan<byte> recipientPrivateKey, ReadOnlySpan<byte> ciphertext, out byte[] json)
    {
        if (recipientPrivateKey.Length != KeyLength)
        {
            throw new ArgumentException($"An X25519 private key is {KeyLength} bytes, not {recipientPrivateKey.Length}.", nameof(recipientPrivateKey));
        }

        if (ciphertext.Length <= Overhead)
        {
            throw new EnvelopeException(EnvelopeFailure.Malformed, $"An envelope is more than {Overhead} bytes; this one is {ciphertext.Length}.");
        }

        Hpke context;
        try
        {
            context = Hpke.SetupBaseR(ciphertext[..EncapsulatedKeyLength], recipientPrivateKey, InfoBytes);
        }
        catch (CryptographicException e)
        {
            throw new EnvelopeException(EnvelopeFailure.Malformed, "The envelope's first 32 bytes are not a usable X25519 public key.", e);
        }

        byte[] padded;
        using (context)
        {
            try
            {
                padded = context.Open([], ciphertext[EncapsulatedKeyLength..]);
            }
            catch (AuthenticationTagMismatchException e)
            {
                throw new EnvelopeException(
                    EnvelopeFailure.NotForThisKey, "The envelope does not open with this private key: sealed to another key, or altered.", e);
            }
        }

        var length = EnvelopePadding.UnpaddedLength(padded);
        if (length < 0)
        {
            throw new EnvelopeException(EnvelopeFailure.BadPadding, "The envelope opened but its padding is not 0x80 followed by zeros.");
        }

        json = padded[..length];
        return EnvelopeJson.TryParse(json, out var problem)
            ?? throw new EnvelopeException(EnvelopeFailure.BadPlaintext, $"The envelope opened but its plaintext is not relay-hpke-v1 JSON: {problem}.");
    }
}
