using System.Security.Cryptography;

namespace Relay.Client;

/// <summary>
/// A device's X25519 key pair for <c>relay-hpke-v1</c> envelopes: the device publishes <see cref="PublicKey"/>
/// (<see cref="DevicesClient.PublishKeyAsync"/>) and opens what is sealed to it with the private key, which should
/// live in the platform's key store (on iOS a Keychain access group shared with the Notification Service Extension).
/// </summary>
public sealed class DeviceKeyPair
{
    private readonly byte[] _privateKey;

    private DeviceKeyPair(byte[] privateKey)
    {
        _privateKey = privateKey;
        PublicKey = RelayEnvelope.GetPublicKey(privateKey);
    }

    /// <summary>The 32-byte X25519 public key, CryptoKit's <c>rawRepresentation</c>.</summary>
    public ReadOnlyMemory<byte> PublicKey { get; }

    /// <summary>A new random key pair.</summary>
    public static DeviceKeyPair Create() => new(RandomNumberGenerator.GetBytes(RelayEnvelope.KeyLength));

    /// <summary>The key pair of a stored 32-byte X25519 private key.</summary>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    public static DeviceKeyPair FromPrivateKey(ReadOnlySpan<byte> privateKey) =>
        privateKey.Length == RelayEnvelope.KeyLength
            ? new(privateKey.ToArray())
            : throw new ArgumentException($"An X25519 private key is {RelayEnvelope.KeyLength} bytes, not {privateKey.Length}.", nameof(privateKey));

    /// <summary>A copy of the 32-byte private key, to store.</summary>
    public byte[] ExportPrivateKey() => (byte[])_privateKey.Clone();

    /// <summary>Opens an envelope sealed to this device.</summary>
    /// <exception cref="EnvelopeException">It does not open; <see cref="EnvelopeException.Failure"/> says why.</exception>
    public EnvelopePlaintext Open(ReadOnlySpan<byte> ciphertext) => RelayEnvelope.Open(_privateKey, ciphertext);
}
