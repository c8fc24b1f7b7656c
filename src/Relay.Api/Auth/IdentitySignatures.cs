using System.Text;
using NSec.Cryptography;

namespace Relay.Api.Auth;

/// <summary>
/// What an account's Ed25519 identity key signs, and the one check of such a signature. Ids are written as the API
/// prints them: lower-case, hyphenated (<c>D</c> format).
/// </summary>
public static class IdentitySignatures
{
    /// <summary>Sign-in: <c>relay-auth-v1:{accountId}:{challenge}</c>, the challenge exactly as issued.</summary>
    public static byte[] SignIn(Guid accountId, string challenge) =>
        Encoding.UTF8.GetBytes($"relay-auth-v1:{accountId:D}:{challenge}");

    /// <summary>A device's published key: <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>, the key exactly as sent.</summary>
    public static byte[] DeviceKey(Guid accountId, Guid deviceId, string publicKey) =>
        Encoding.UTF8.GetBytes($"relay-device-key-v1:{accountId:D}:{deviceId:D}:{publicKey}");

    /// <summary>Whether <paramref name="signature"/> is the Ed25519 signature of <paramref name="signedText"/> by <paramref name="identityKey"/>.</summary>
    public static bool Verify(byte[] identityKey, byte[] signedText, byte[] signature)
    {
        if (!PublicKey.TryImport(SignatureAlgorithm.Ed25519, identityKey, KeyBlobFormat.RawPublicKey, out var publicKey))
        {
            return false;
        }

        return SignatureAlgorithm.Ed25519.Verify(publicKey!, signedText, signature);
    }
}
