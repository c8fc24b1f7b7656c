using System.Security.Cryptography;
using System.Text.Json;
using NSec.Cryptography;
using Relay.Client;

namespace RelayChat;

/// <summary>
/// What one chat user keeps between runs, in <c>{name}.relaychat.json</c> (readable by its owner only): the
/// account's Ed25519 identity key, the device's X25519 key and the device's (made-up) APNs token. The same file
/// means the same account and device.
/// </summary>
internal sealed class ChatIdentity : IDisposable
{
    private ChatIdentity(Key identityKey, DeviceKeyPair deviceKey, string deviceToken)
    {
        IdentityKey = identityKey;
        DeviceKey = deviceKey;
        DeviceToken = deviceToken;
    }

    public Key IdentityKey { get; }

    public DeviceKeyPair DeviceKey { get; }

    /// <summary>
    /// A random stand-in for the APNs token an iPhone would get: the console has no APNs, and the local relay's mock
    /// APNs takes any token.
    /// </summary>
    public string DeviceToken { get; }

    /// <summary>The identity's public key in base64: what contacts need to trust this account's devices.</summary>
    public string PublicIdentityKey => Convert.ToBase64String(IdentityKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));

    public static ChatIdentity LoadOrCreate(string path)
    {
        var exportable = new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport };
        if (File.Exists(path))
        {
            var stored = JsonSerializer.Deserialize<Stored>(File.ReadAllText(path), JsonSerializerOptions.Web)
                ?? throw new InvalidDataException($"{path} is empty.");
            return new ChatIdentity(
                Key.Import(SignatureAlgorithm.Ed25519, Convert.FromBase64String(stored.IdentityKey), KeyBlobFormat.RawPrivateKey, exportable),
                DeviceKeyPair.FromPrivateKey(Convert.FromBase64String(stored.DeviceKey)),
                stored.DeviceToken);
        }

        var identity = new ChatIdentity(
            Key.Create(SignatureAlgorithm.Ed25519, exportable),
            DeviceKeyPair.Create(),
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        var json = JsonSerializer.Serialize(
            new Stored(
                Convert.ToBase64String(identity.IdentityKey.Export(KeyBlobFormat.RawPrivateKey)),
                Convert.ToBase64String(identity.DeviceKey.ExportPrivateKey()),
                identity.DeviceToken),
            JsonSerializerOptions.Web);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new StreamWriter(path, options))
        {
            file.Write(json);
        }

        return identity;
    }

    public void Dispose() => IdentityKey.Dispose();

    private sealed record Stored(string IdentityKey, string DeviceKey, string DeviceToken);
}
