using System.Text;

namespace Relay.Client.Http;

/// <summary>The texts an account's identity key signs, as the relay verifies them.</summary>
internal static class RelaySignatures
{
    /// <summary><c>relay-auth-v1:{accountId}:{challenge}</c>, the challenge exactly as the relay issued it.</summary>
    public static byte[] SignInText(Guid accountId, string challenge) =>
        Encoding.UTF8.GetBytes($"relay-auth-v1:{accountId:D}:{challenge}");

    /// <summary><c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>, the public key as the exact base64 text sent.</summary>
    public static byte[] DeviceKeyText(Guid accountId, Guid deviceId, string publicKey) =>
        Encoding.UTF8.GetBytes($"relay-device-key-v1:{accountId:D}:{deviceId:D}:{publicKey}");
}
