using System.Net.Http.Headers;
using System.Text;

namespace Relay.Api.Tests;

/// <summary>Bad input gets a clear 4xx problem+json and changes nothing; no input makes the relay answer 5xx.</summary>
public sealed class BadInputTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    private static string B64(int bytes) => Convert.ToBase64String(new byte[bytes]);

    private static string Hex(int bytes) => Convert.ToHexStringLower(new byte[bytes]);

    public static TheoryData<string, string, string, string, int> Cases()
    {
        var unknown = Guid.NewGuid();
        var manyIds = string.Join(",", Enumerable.Range(0, 65).Select(_ => $"\"{Guid.NewGuid()}\""));
        var twiceId = Guid.NewGuid();
        return new TheoryData<string, string, string, string, int>
        {
            // name, method, path, body ({me} is the caller's account id, {recipient} another account's), status
            { "account: malformed JSON", "POST", "/v1/accounts", "{\"identityKey\":", 400 },
            { "account: empty body", "POST", "/v1/accounts", "", 400 },
            { "account: array body", "POST", "/v1/accounts", "[]", 400 },
            { "account: null body", "POST", "/v1/accounts", "null", 400 },
            { "account: deeply nested JSON", "POST", "/v1/accounts", new string('[', 200) + new string(']', 200), 400 },
            { "account: number key", "POST", "/v1/accounts", "{\"identityKey\":5}", 400 },
            { "account: missing key", "POST", "/v1/accounts", "{}", 400 },
            { "account: null key", "POST", "/v1/accounts", "{\"identityKey\":null}", 400 },
            { "account: bad base64", "POST", "/v1/accounts", "{\"identityKey\":\"not base64!\"}", 400 },
            { "account: 31-byte key", "POST", "/v1/accounts", $"{{\"identityKey\":\"{B64(31)}\"}}", 400 },
            { "account: 33-byte key", "POST", "/v1/accounts", $"{{\"identityKey\":\"{B64(33)}\"}}", 400 },
            { "account: url-safe base64", "POST", "/v1/accounts", "{\"identityKey\":\"-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_8=\"}", 400 },
            { "account: body over 64 KiB", "POST", "/v1/accounts", $"{{\"identityKey\":\"{new string('A', 70_000)}\"}}", 413 },
            { "challenge: missing account", "POST", "/v1/auth/challenge", "{}", 400 },
            { "challenge: not a guid", "POST", "/v1/auth/challenge", "{\"accountId\":\"not-a-guid\"}", 400 },
            { "challenge: number id", "POST", "/v1/auth/challenge", "{\"accountId\":123}", 400 },
            { "challenge: unknown account", "POST", "/v1/auth/challenge", $"{{\"accountId\":\"{unknown}\"}}", 404 },
            { "token: missing signature", "POST", "/v1/auth/token", $"{{\"accountId\":\"{{me}}\",\"challenge\":\"{B64(32)}\"}}", 400 },
            { "token: bad challenge base64", "POST", "/v1/auth/token", $"{{\"accountId\":\"{{me}}\",\"challenge\":\"%%%\",\"signature\":\"{B64(64)}\"}}", 400 },
            { "token: short challenge", "POST", "/v1/auth/token", $"{{\"accountId\":\"{{me}}\",\"challenge\":\"{B64(16)}\",\"signature\":\"{B64(64)}\"}}", 400 },
            { "token: short signature", "POST", "/v1/auth/token", $"{{\"accountId\":\"{{me}}\",\"challenge\":\"{B64(32)}\",\"signature\":\"{B64(63)}\"}}", 400 },
            { "token: unknown challenge", "POST", "/v1/auth/token", $"{{\"accountId\":\"{unknown}\",\"challenge\":\"{B64(32)}\",\"signature\":\"{B64(64)}\"}}", 401 },
            { "device: odd-length token", "POST", "/v1/devices", $"{{\"token\":\"{Hex(32)}a\",\"topic\":\"com.example.chat\",\"environment\":\"production\"}}", 400 },
            { "device: non-hex token", "POST", "/v1/devices", $"{{\"token\":\"{new string('g', 64)}\",\"topic\":\"com.example.chat\",\"environment\":\"production\"}}", 400 },
            { "device: 15-byte token", "POST", "/v1/devices", $"{{\"token\":\"{Hex(15)}\",\"topic\":\"com.example.chat\",\"environment\":\"production\"}}", 400 },
            { "device: 257-byte token", "POST", "/v1/devices", $"{{\"token\":\"{Hex(257)}\",\"topic\":\"com.example.chat\",\"environment\":\"production\"}}", 400 },
            { "device: number token", "POST", "/v1/devices", "{\"token\":1234,\"topic\":\"com.example.chat\",\"environment\":\"production\"}", 400 },
            { "device: unknown topic", "POST", "/v1/devices", $"{{\"token\":\"{Hex(32)}\",\"topic\":\"com.evil.app\",\"environment\":\"production\"}}", 400 },
            { "device: unknown environment", "POST", "/v1/devices", $"{{\"token\":\"{Hex(32)}\",\"topic\":\"com.example.chat\",\"environment\":\"staging\"}}", 400 },
            { "device: missing environment", "POST", "/v1/devices", $"{{\"token\":\"{Hex(32)}\",\"topic\":\"com.example.chat\"}}", 400 },
            { "device: missing token", "POST", "/v1/devices", "{\"topic\":\"com.example.chat\",\"environment\":\"sandbox\"}", 400 },
            { "device: malformed JSON", "POST", "/v1/devices", "{\"token\":", 400 },
            { "device: delete non-guid id", "DELETE", "/v1/devices/not-a-guid", "", 404 },
            { "device: delete unknown id", "DELETE", $"/v1/devices/{unknown}", "", 404 },
            { "device key: 31-byte key", "PUT", $"/v1/devices/{unknown}/key", $"{{\"publicKey\":\"{B64(31)}\",\"signature\":\"{B64(64)}\"}}", 400 },
            { "device key: 65-byte signature", "PUT", $"/v1/devices/{unknown}/key", $"{{\"publicKey\":\"{B64(32)}\",\"signature\":\"{B64(65)}\"}}", 400 },
            { "device key: missing key", "PUT", $"/v1/devices/{unknown}/key", $"{{\"signature\":\"{B64(64)}\"}}", 400 },
            { "device key: number key", "PUT", $"/v1/devices/{unknown}/key", $"{{\"publicKey\":7,\"signature\":\"{B64(64)}\"}}", 400 },
            { "device key: zero signature", "PUT", $"/v1/devices/{unknown}/key", $"{{\"publicKey\":\"{B64(32)}\",\"signature\":\"{B64(64)}\"}}", 400 },
            { "device key: non-guid device", "PUT", "/v1/devices/not-a-guid/key", $"{{\"publicKey\":\"{B64(32)}\",\"signature\":\"{B64(64)}\"}}", 404 },
            { "message: empty recipients", "POST", "/v1/messages", $"{{\"to\":[],\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: 65 recipients", "POST", "/v1/messages", $"{{\"to\":[{manyIds}],\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: duplicate recipients", "POST", "/v1/messages", $"{{\"to\":[\"{twiceId}\",\"{twiceId}\"],\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: missing recipients", "POST", "/v1/messages", $"{{\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: null recipients", "POST", "/v1/messages", $"{{\"to\":null,\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: recipient not a guid", "POST", "/v1/messages", $"{{\"to\":[\"x\"],\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: recipients not an array", "POST", "/v1/messages", $"{{\"to\":\"{{recipient}}\",\"ciphertext\":\"{B64(30)}\"}}", 400 },
            { "message: missing ciphertext", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"]}", 400 },
            { "message: empty ciphertext", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":\"\"}", 400 },
            { "message: ciphertext not base64", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":\"abc\"}", 400 },
            { "message: ciphertext with whitespace", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":\"AAAA AAAA\"}", 400 },
            { "message: ciphertext url-safe", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":\"-_-_\"}", 400 },
            { "message: ciphertext escaped newline", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":\"AAAA\\nAAAA\"}", 400 },
            { "message: ciphertext and ciphertexts", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ciphertexts\":[]}}", 400 },
            { "message: ciphertexts not an array", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":\"{B64(30)}\"}}", 400 },
            { "message: ciphertexts entry without device", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":[{{\"ciphertext\":\"{B64(30)}\"}}]}}", 400 },
            { "message: ciphertexts entry not base64", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":[{{\"deviceId\":\"{unknown}\",\"ciphertext\":\"abc\"}}]}}", 400 },
            { "message: ciphertexts null entry", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertexts\":[null]}", 400 },
            { "message: ciphertexts device not a guid", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":[{{\"deviceId\":\"x\",\"ciphertext\":\"{B64(30)}\"}}]}}", 400 },
            { "message: ciphertexts for the wrong device", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":[{{\"deviceId\":\"{unknown}\",\"ciphertext\":\"{B64(30)}\"}}]}}", 409 },
            { "message: one per-device ciphertext too large", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertexts\":[{{\"deviceId\":\"{unknown}\",\"ciphertext\":\"{B64(4000)}\"}}]}}", 413 },
            { "message: ciphertext number", "POST", "/v1/messages", "{\"to\":[\"{recipient}\"],\"ciphertext\":42}", 400 },
            { "message: negative ttl", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ttlSeconds\":-1}}", 400 },
            { "message: ttl over 30 days", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ttlSeconds\":2592001}}", 400 },
            { "message: huge ttl", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ttlSeconds\":99999999999999999999}}", 400 },
            { "message: fractional ttl", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ttlSeconds\":1.5}}", 400 },
            { "message: ttl as string", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"ttlSeconds\":\"60\"}}", 400 },
            { "message: collapse id of 65 bytes", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"collapseId\":\"{new string('c', 65)}\"}}", 400 },
            { "message: collapse id of 66 UTF-8 bytes", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"collapseId\":\"{new string('é', 33)}\"}}", 400 },
            { "message: empty collapse id", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(30)}\",\"collapseId\":\"\"}}", 400 },
            { "message: unknown recipient", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\",\"{unknown}\"],\"ciphertext\":\"{B64(30)}\"}}", 404 },
            { "message: ciphertext too large for APNs", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(4000)}\"}}", 413 },
            { "message: body over 16 KiB", "POST", "/v1/messages", $"{{\"to\":[\"{{recipient}}\"],\"ciphertext\":\"{B64(13_000)}\"}}", 413 },
            { "message: malformed JSON", "POST", "/v1/messages", "{\"to\":[", 400 },
            { "message: wrong content type", "POST", "/v1/messages", "text:{\"to\":[\"{recipient}\"],\"ciphertext\":\"AAAA\"}", 415 },
        };
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadInputIsAProblemAndStoresNothing(string name, string method, string path, string body, int status)
    {
        var me = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();
        var before = await CountsAsync();
        var sentBefore = relay.Production.Counters.Accepted;

        var contentType = "application/json";
        if (body.StartsWith("text:", StringComparison.Ordinal))
        {
            contentType = "text/plain";
            body = body[5..];
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{me}", me.AccountId.ToString(), StringComparison.Ordinal));
        if (method != "DELETE")
        {
            request.Content = new StringContent(
                body.Replace("{me}", me.AccountId.ToString(), StringComparison.Ordinal).Replace("{recipient}", recipient.AccountId.ToString(), StringComparison.Ordinal),
                Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }

        var response = await me.Client.SendAsync(request);

        Assert.True(status == (int)response.StatusCode, $"{name}: expected {status}, got {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), name);
        Assert.Equal(before, await CountsAsync());
        Assert.Equal(sentBefore, relay.Production.Counters.Accepted);
    }

    private async Task<(long, long, long)> CountsAsync() =>
        (await relay.Database.CountAsync("accounts"), await relay.Database.CountAsync("devices"), await relay.Database.CountAsync("auth_challenges"));
}
