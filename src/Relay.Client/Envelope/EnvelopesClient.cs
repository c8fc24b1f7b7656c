using System.Diagnostics.CodeAnalysis;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>relay-hpke-v1</c> envelopes with the client's settings: sealed as the signed-in account, now, and padded to the
/// relay's ciphertext sizes (<see cref="RelayClientOptions.CiphertextSizes"/>), so calls and texts look alike.
/// </summary>
public sealed class EnvelopesClient
{
    private readonly RelayHttp _http;

    internal EnvelopesClient(RelayHttp http)
    {
        _http = http;
        Padding = http.Options.CiphertextSizes is { } sizes ? EnvelopePadding.ToCiphertextSizes(sizes) : EnvelopePadding.Default;
    }

    /// <summary>The padding every envelope gets: to the relay's sizes, or 256/512/1024/2048 bytes of plaintext.</summary>
    public EnvelopePadding Padding { get; }

    /// <summary>Seals a plaintext to a device's public key with <see cref="Padding"/>.</summary>
    /// <param name="devicePublicKey">The device's 32-byte X25519 public key.</param>
    /// <param name="plaintext">What to seal.</param>
    /// <returns>The ciphertext: one of the relay's sizes.</returns>
    /// <exception cref="ArgumentException">The key is not an X25519 public key, or the plaintext fits no size.</exception>
    public byte[] Seal(ReadOnlySpan<byte> devicePublicKey, EnvelopePlaintext plaintext) => RelayEnvelope.Seal(devicePublicKey, plaintext, Padding);

    /// <summary>Seals <paramref name="body"/> to a device's public key, from the signed-in account, sent now.</summary>
    /// <param name="devicePublicKey">The device's 32-byte X25519 public key.</param>
    /// <param name="kind">What the body is.</param>
    /// <param name="body">The app's bytes.</param>
    /// <exception cref="InvalidOperationException">The client does not know its account yet: sign in first.</exception>
    /// <exception cref="ArgumentException">The key is not an X25519 public key, or the plaintext fits no size.</exception>
    public byte[] Seal(ReadOnlySpan<byte> devicePublicKey, EnvelopeKind kind, ReadOnlyMemory<byte> body)
    {
        var sender = _http.AccountId ?? throw new InvalidOperationException("The client does not know its account yet: sign in first.");
        return Seal(devicePublicKey, new EnvelopePlaintext(kind, sender, _http.Time.GetUtcNow(), body));
    }

    /// <summary>Opens an envelope with a device's private key.</summary>
    /// <exception cref="EnvelopeException">It does not open; <see cref="EnvelopeException.Failure"/> says why.</exception>
    [SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "Beside Seal on the client, where apps look for it.")]
    public EnvelopePlaintext Open(ReadOnlySpan<byte> devicePrivateKey, ReadOnlySpan<byte> ciphertext) => RelayEnvelope.Open(devicePrivateKey, ciphertext);
}
