using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NSec.Cryptography;
using Relay.MockApns;

namespace Relay.Api.Tests;

public sealed class DeviceKeyTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task PublishedKeyIsListedToAnyAccountAndItsSignatureVerifiesAgainstTheIdentityKey()
    {
        var owner = await relay.CreateAccountAsync();
        var reader = await relay.CreateAccountAsync();
        var (deviceId, _) = await owner.RegisterDeviceAsync();
        var publicKey = NewX25519PublicKey();

        var published = await owner.PublishKeyAsync(deviceId, publicKey, owner.SignDeviceKey(deviceId, publicKey));
        Assert.Equal(HttpStatusCode.NoContent, published.StatusCode);

        var listed = Assert.Single(await reader.ListDeviceKeysAsync(owner.AccountId));
        Assert.Equal(deviceId, listed.GetProperty("deviceId").GetGuid());
        Assert.Equal(publicKey, listed.GetProperty("publicKey").GetString());
        var signedText = Encoding.UTF8.GetBytes($"relay-device-key-v1:{owner.AccountId:D}:{deviceId:D}:{listed.GetProperty("publicKey").GetString()}");
        var signature = Convert.FromBase64String(listed.GetProperty("signature").GetString()!);
        Assert.True(SignatureAlgorithm.Ed25519.Verify(owner.Key.PublicKey, signedText, signature));
    }

    [Fact]
    public async Task ASecondPublishReplacesTheKey()
    {
        var owner = await relay.CreateAccountAsync();
        var (deviceId, _) = await owner.RegisterDeviceAsync();
        var first = NewX25519PublicKey();
        var second = NewX25519PublicKey();

        Assert.Equal(HttpStatusCode.NoContent, (await owner.PublishKeyAsync(deviceId, first, owner.SignDeviceKey(deviceId, first))).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PublishKeyAsync(deviceId, second, owner.SignDeviceKey(deviceId, second))).StatusCode);

        var listed = Assert.Single(await owner.ListDeviceKeysAsync(owner.AccountId));
        Assert.Equal(second, listed.GetProperty("publicKey").GetString());
        Assert.Equal(owner.SignDeviceKey(deviceId, second), listed.GetProperty("signature").GetString());
    }

    public static TheoryData<string, string> BadKeys() => new()
    {
        { "random signature", "signature" },
        { "signature of another device id", "signature" },
        { "signature of another key", "signature" },
        { "signature by another account", "signature" },
        { "31-byte key", "publicKey" },
        { "33-byte key", "publicKey" },
        { "key not base64", "publicKey" },
        { "key in url-safe base64", "publicKey" },
        { "key in non-canonical base64", "publicKey" },
        { "63-byte signature", "signature" },
        { "signature not base64", "signature" },
        { "no signature", "signature" },
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task ABadKeyOrSignatureIs400NamingTheFieldAndChangesNothing(string name, string field)
    {
        var owner = await relay.CreateAccountAsync();
        var stranger = await relay.CreateAccountAsync();
        var (deviceId, _) = await owner.RegisterDeviceAsync();
        var kept = NewX25519PublicKey();
        Assert.Equal(HttpStatusCode.NoContent, (await owner.PublishKeyAsync(deviceId, kept, owner.SignDeviceKey(deviceId, kept))).StatusCode);
        var key = NewX25519PublicKey();
        var wellFormed = Convert.FromBase64String(key);
        var body = name switch
        {
            "random signature" => new { publicKey = key, signature = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64)) },
            "signature of another device id" => new { publicKey = key, signature = owner.SignDeviceKey(Guid.NewGuid(), key) },
            "signature of another key" => new { publicKey = key, signature = owner.SignDeviceKey(deviceId, NewX25519PublicKey()) },
            "signature by another account" => new { publicKey = key, signature = stranger.SignDeviceKey(deviceId, key, owner.AccountId) },
            "31-byte key" => Signed(owner, deviceId, Convert.ToBase64String(wellFormed[..31])),
            "33-byte key" => Signed(owner, deviceId, Convert.ToBase64String([.. wellFormed, 7])),
            "key not base64" => Signed(owner, deviceId, "not a key!"),
            "key in url-safe base64" => Signed(owner, deviceId, key.Replace('+', '-').Replace('/', '_') is var url && url != key ? url : "-" + key[1..]),
            // The last character carries two unused bits; set, they decode to the same bytes as another text.
            "key in non-canonical base64" => Signed(owner, deviceId, NonCanonical(key)),
            "63-byte signature" => new { publicKey = key, signature = Convert.ToBase64String(Convert.FromBase64String(owner.SignDeviceKey(deviceId, key))[..63]) },
            "signature not base64" => new { publicKey = key, signature = "%%%%" },
            "no signature" => new { publicKey = key, signature = (string)null! },
            _ => throw new ArgumentOutOfRangeException(nameof(name)),
        };

        var response = await owner.Client.PutAsJsonAsync($"/v1/devices/{deviceId}/key", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.True(problem.GetProperty("errors").EnumerateObject().Any(e => e.Name == field), $"{name}: {problem}");
        var listed = Assert.Single(await owner.ListDeviceKeysAsync(owner.AccountId));
        Assert.Equal(kept, listed.GetProperty("publicKey").GetString());
    }

    [Fact]
    public async Task AnotherAccountsDeviceOrAnUnknownOneIs404()
    {
        var owner = await relay.CreateAccountAsync();
        var intruder = await relay.CreateAccountAsync();
        var (deviceId, _) = await owner.RegisterDeviceAsync();
        var key = NewX25519PublicKey();
        var unknown = Guid.NewGuid();

        // Signed properly by the intruder for its own account id: only the device is wrong.
        var theirs = await intruder.PublishKeyAsync(deviceId, key, intruder.SignDeviceKey(deviceId, key));
        var nobodys = await intruder.PublishKeyAsync(unknown, key, intruder.SignDeviceKey(unknown, key));

        Assert.Equal(HttpStatusCode.NotFound, theirs.StatusCode);
        Assert.Equal("application/problem+json", theirs.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, nobodys.StatusCode);
        Assert.Empty(await intruder.ListDeviceKeysAsync(owner.AccountId));
        Assert.Equal(0, await relay.Database.CountAsync("devices WHERE public_key IS NOT NULL AND id = '" + deviceId + "'"));
    }

    [Fact]
    public async Task InvalidatedAndDeletedDevicesAreNotListedAndAnInvalidatedOneCannotPublish()
    {
        var sender = await relay.CreateAccountAsync();
        var owner = await relay.CreateAccountAsync();
        var (keptId, _) = await owner.RegisterDeviceAsync();
        var (deadId, deadToken) = await owner.RegisterDeviceAsync();
        var (deletedId, _) = await owner.RegisterDeviceAsync();
        foreach (var id in new[] { keptId, deadId, deletedId })
        {
            var key = NewX25519PublicKey();
            Assert.Equal(HttpStatusCode.NoContent, (await owner.PublishKeyAsync(id, key, owner.SignDeviceKey(id, key))).StatusCode);
        }

        Assert.Equal(3, (await owner.ListDeviceKeysAsync(owner.AccountId)).Length);
        relay.Production.Script(deadToken, MockApnsBehavior.BadDeviceToken);
        var message = await sender.SendMessageAsync(new { to = new[] { owner.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Equal("BadDeviceToken", message.Delivery(deadId).GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.NoContent, (await owner.Client.DeleteAsync($"/v1/devices/{deletedId}")).StatusCode);

        var listed = Assert.Single(await sender.ListDeviceKeysAsync(owner.AccountId));
        Assert.Equal(keptId, listed.GetProperty("deviceId").GetGuid());
        var again = NewX25519PublicKey();
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PublishKeyAsync(deadId, again, owner.SignDeviceKey(deadId, again))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await owner.PublishKeyAsync(deletedId, again, owner.SignDeviceKey(deletedId, again))).StatusCode);
        Assert.Equal(0, await relay.Database.CountAsync("devices WHERE id = '" + deletedId + "'"));
    }

    [Fact]
    public async Task TheKeyOfAMovedTokenIsGoneAndReRegisteringByTheSameAccountKeepsIt()
    {
        var oldOwner = await relay.CreateAccountAsync();
        var newOwner = await relay.CreateAccountAsync();
        var (oldDeviceId, token) = await oldOwner.RegisterDeviceAsync();
        var key = NewX25519PublicKey();
        Assert.Equal(HttpStatusCode.NoContent, (await oldOwner.PublishKeyAsync(oldDeviceId, key, oldOwner.SignDeviceKey(oldDeviceId, key))).StatusCode);

        var (sameId, _) = await oldOwner.RegisterDeviceAsync(token: token);
        Assert.Equal(oldDeviceId, sameId);
        Assert.Equal(key, Assert.Single(await oldOwner.ListDeviceKeysAsync(oldOwner.AccountId)).GetProperty("publicKey").GetString());

        var (newDeviceId, _) = await newOwner.RegisterDeviceAsync(token: token);

        Assert.NotEqual(oldDeviceId, newDeviceId);
        Assert.Empty(await newOwner.ListDeviceKeysAsync(oldOwner.AccountId));
        Assert.Empty(await newOwner.ListDeviceKeysAsync(newOwner.AccountId));
        Assert.Equal(0, await relay.Database.CountAsync($"devices WHERE token = '{token}' AND public_key IS NOT NULL"));
    }

    [Fact]
    public async Task AnUnknownAccountIs404AndAnAccountWithoutKeysIsAnEmptyList()
    {
        var reader = await relay.CreateAccountAsync();
        var keyless = await relay.CreateAccountAsync();
        await keyless.RegisterDeviceAsync();

        var unknown = await reader.Client.GetAsync($"/v1/accounts/{Guid.NewGuid()}/devices");
        using var anonymous = relay.CreateRelayClient();
        var unauthenticated = await anonymous.GetAsync($"/v1/accounts/{keyless.AccountId}/devices");

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Equal("Unknown account", (await unknown.ReadJsonAsync()).GetProperty("title").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Empty(await reader.ListDeviceKeysAsync(keyless.AccountId));
    }

    private static object Signed(TestAccount owner, Guid deviceId, string publicKey) =>
        new { publicKey, signature = owner.SignDeviceKey(deviceId, publicKey) };

    /// <summary>A fresh device key, as a phone makes one: NSec's X25519, exported raw, in base64.</summary>
    internal static string NewX25519PublicKey()
    {
        using var key = Key.Create(KeyAgreementAlgorithm.X25519);
        return LogCapture.Secret(Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)));
    }

    /// <summary>The same 32 bytes with the unused low bits of the last base64 character set.</summary>
    private static string NonCanonical(string key)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var last = Alphabet.IndexOf(key[^2], StringComparison.Ordinal);
        return key[..^2] + Alphabet[last | 0b11] + "=";
    }
}

/// <summary>Publishing and reading device keys over HTTP, as an app would.</summary>
internal static class DeviceKeyRequests
{
    /// <summary>The identity key's signature of <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>.</summary>
    public static string SignDeviceKey(this TestAccount account, Guid deviceId, string publicKey, Guid? accountId = null) =>
        LogCapture.Secret(Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(
            account.Key, Encoding.UTF8.GetBytes($"relay-device-key-v1:{accountId ?? account.AccountId:D}:{deviceId:D}:{publicKey}"))));

    public static Task<HttpResponseMessage> PublishKeyAsync(this TestAccount account, Guid deviceId, string publicKey, string signature) =>
        account.Client.PutAsJsonAsync($"/v1/devices/{deviceId}/key", new { publicKey, signature });

    public static async Task<JsonElement[]> ListDeviceKeysAsync(this TestAccount reader, Guid accountId)
    {
        var response = await reader.Client.GetAsync($"/v1/accounts/{accountId}/devices");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return [.. (await response.ReadJsonAsync()).EnumerateArray()];
    }
}
