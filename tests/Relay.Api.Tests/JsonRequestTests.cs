using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.Api.Tests;

/// <summary>The relay as scripts/run.sh starts it: the Development environment, developer exception page and all.</summary>
public sealed class DevelopmentRelayFactory : RelayFactory
{
    protected override string EnvironmentName => "Development";
}

/// <summary>
/// Content types, charsets and bodies the framework cannot bind: each is a 4xx problem+json naming what is wrong and
/// stores nothing, whatever the environment.
/// </summary>
public abstract class JsonRequestTests(RelayFactory relay)
{
    public static TheoryData<string> AcceptedContentTypes() =>
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "application/json; charset=\"utf-8\"",
        "application/json;charset=utf8",
        "Application/JSON; Charset=\"UTF-8\"",
    ];

    public static TheoryData<string?> RefusedContentTypes() =>
    [
        null,
        "application/json; charset=",
        "application/json; charset=bogus",
        "application/json; charset=utf-7",
        "application/json; charset=utf-16",
        "application/json; charset=\"utf-8",
        "application/json; charset=iso-8859-1",
        "text/plain",
        "text/json",
        "application/xml",
        "application/problem+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "garbage",
        "",
    ];

    private static readonly string[] JsonEndpoints = ["/v1/accounts", "/v1/auth/challenge", "/v1/auth/token", "/v1/devices", "/v1/messages"];

    [Theory]
    [MemberData(nameof(AcceptedContentTypes))]
    public async Task JsonInAnySpellingOfUtf8IsRead(string contentType)
    {
        var me = await relay.CreateAccountAsync();
        foreach (var path in JsonEndpoints)
        {
            var response = await me.Client.SendAsync(Request(path, await ValidBodyAsync(me, path), contentType));
            var status = (int)response.StatusCode;
            Assert.True(status is >= 200 and < 300 || (path == "/v1/auth/token" && status == 401),
                $"{path} with {contentType}: {status} {await response.Content.ReadAsStringAsync()}");
        }
    }

    [Theory]
    [MemberData(nameof(RefusedContentTypes))]
    public async Task AnotherCharsetOrMediaTypeIs415(string? contentType)
    {
        var me = await relay.CreateAccountAsync();
        foreach (var path in JsonEndpoints)
        {
            var before = await CountsAsync();
            var response = await me.Client.SendAsync(Request(path, await ValidBodyAsync(me, path), contentType));

            Assert.True(response.StatusCode == HttpStatusCode.UnsupportedMediaType,
                $"{path} with {contentType ?? "(none)"}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var problem = await AssertProblemAsync(response);
            Assert.Contains("application/json", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.Equal(before, await CountsAsync());
        }
    }

    public static TheoryData<string, string, string, int, string> BadBodies() => new()
    {
        // path, body, what the detail must name, status, case
        { "/v1/accounts", "{\"identityKey\":", "position", 400, "truncated JSON" },
        { "/v1/accounts", "", "empty", 400, "empty body" },
        { "/v1/accounts", "null", "empty", 400, "null body" },
        { "/v1/accounts", "[]", "JSON object", 400, "array body" },
        { "/v1/accounts", "{\"identityKey\":5}", "identityKey", 400, "number for a string" },
        { "/v1/accounts", "{\"identityKey\":\"x\" \"y\"}", "position", 400, "garbage after a value" },
        { "/v1/accounts", new string('[', 100) + new string(']', 100), "JSON object", 400, "nested arrays" },
        { "/v1/accounts", "{\"extra\":" + new string('[', 100) + new string(']', 100) + "}", "depth", 400, "deep nesting" },
        { "/v1/auth/challenge", "{\"accountId\":\"not-a-guid\"}", "accountId", 400, "non-UUID account id" },
        { "/v1/auth/challenge", "{\"accountId\":123}", "accountId", 400, "number account id" },
        { "/v1/devices", "{\"token\":[1],\"topic\":\"x\",\"environment\":\"sandbox\"}", "token", 400, "array for a string" },
        { "/v1/messages", "{\"to\":[\"x\"],\"ciphertext\":\"AAAA\"}", "to[0]", 400, "non-UUID in to" },
        { "/v1/messages", "{\"to\":\"x\",\"ciphertext\":\"AAAA\"}", "to", 400, "string for an array" },
        { "/v1/messages", "{\"to\":[],\"ciphertext\":\"AAAA\",\"ttlSeconds\":\"60\"}", "ttlSeconds", 400, "string for a number" },
        { "/v1/messages", "{\"to\":[],\"ciphertext\":\"AAAA\",\"ttlSeconds\":1e400}", "ttlSeconds", 400, "huge number" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task UnreadableBodyIsA400NamingTheFieldOrPosition(string path, string body, string named, int status, string name)
    {
        var me = await relay.CreateAccountAsync();
        var before = await CountsAsync();

        var response = await me.Client.SendAsync(Request(path, body, "application/json"));

        Assert.True((int)response.StatusCode == status, $"{name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        var problem = await AssertProblemAsync(response);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(named, detail, StringComparison.Ordinal);
        Assert.NotEqual("Bad Request", problem.GetProperty("title").GetString());
        Assert.DoesNotContain("System.", detail, StringComparison.Ordinal);
        Assert.Equal(before, await CountsAsync());
    }

    [Fact]
    public async Task InvalidUtf8IsA400()
    {
        var me = await relay.CreateAccountAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts")
        {
            Content = new ByteArrayContent([.. "{\"identityKey\":\""u8, 0xC3, 0x28, .. "\"}"u8]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await me.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("UTF-8: byte 17", (await AssertProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidUtf8InAFieldTheRelayIgnoresIsA400AndStoresNothing()
    {
        var me = await relay.CreateAccountAsync();
        var before = await CountsAsync();
        var identityKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/accounts")
        {
            Content = new ByteArrayContent([.. "{\"note\":\""u8, 0xFF, .. Encoding.UTF8.GetBytes($"\",\"identityKey\":\"{identityKey}\"}}")]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await me.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("UTF-8", (await AssertProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(before, await CountsAsync());
    }

    [Theory]
    [InlineData("text/html")]
    [InlineData("application/xml")]
    [InlineData("image/png, text/plain;q=0.5")]
    public async Task ErrorsAreProblemJsonWhateverTheCallerAccepts(string accept)
    {
        var me = await relay.CreateAccountAsync();
        HttpRequestMessage[] requests =
        [
            Request("/v1/accounts", "{\"identityKey\":", "application/json"),
            Request("/v1/accounts", "{\"identityKey\":\"x\"}", "application/json"),
            Request("/v1/accounts", "{}", "text/plain"),
            Request("/v1/messages", $"{{\"to\":[],\"ciphertext\":\"{new string('A', 20_000)}\"}}", "application/json"),
            new(HttpMethod.Get, "/v1/nothing"),
            new(HttpMethod.Put, "/v1/accounts"),
            new(HttpMethod.Get, $"/v1/messages/{Guid.NewGuid()}"),
        ];
        using var anonymous = relay.CreateRelayClient();
        foreach (var request in requests)
        {
            request.Headers.TryAddWithoutValidation("Accept", accept);
            var response = await me.Client.SendAsync(request);

            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{request.Method} {request.RequestUri}: {(int)response.StatusCode}");
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json",
                $"{request.Method} {request.RequestUri} answered {(int)response.StatusCode} as {response.Content.Headers.ContentType}");
            await AssertProblemAsync(response);
        }

        using var unauthenticated = new HttpRequestMessage(HttpMethod.Get, "/v1/devices");
        unauthenticated.Headers.TryAddWithoutValidation("Accept", accept);
        var challenged = await anonymous.SendAsync(unauthenticated);
        Assert.Equal(HttpStatusCode.Unauthorized, challenged.StatusCode);
        Assert.Equal("Bearer token missing", (await AssertProblemAsync(challenged)).GetProperty("title").GetString());
    }

    [Fact]
    public async Task OversizedBodyIsA413Problem()
    {
        var me = await relay.CreateAccountAsync();

        var response = await me.Client.SendAsync(Request("/v1/messages", $"{{\"to\":[],\"ciphertext\":\"{new string('A', 20_000)}\"}}", "application/json"));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("16384", (await AssertProblemAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    internal static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        return problem;
    }

    internal static HttpRequestMessage Request(string path, string body, string? contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        if (contentType is not null)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return request;
    }

    private static async Task<string> ValidBodyAsync(TestAccount me, string path) => path switch
    {
        "/v1/accounts" => JsonSerializer.Serialize(new { identityKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) }),
        "/v1/auth/challenge" => JsonSerializer.Serialize(new { accountId = me.AccountId }),
        "/v1/auth/token" => JsonSerializer.Serialize(new
        {
            accountId = me.AccountId,
            challenge = (await me.GetChallengeAsync()).Challenge,
            signature = Convert.ToBase64String(new byte[64]),
        }),
        "/v1/devices" => JsonSerializer.Serialize(new
        {
            token = LogCapture.Secret(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))),
            topic = RelayFactory.ChatTopic,
            environment = "sandbox",
        }),
        _ => JsonSerializer.Serialize(new { to = new[] { me.AccountId }, ciphertext = Json.NewCiphertext(40) }),
    };

    private async Task<(long, long, long)> CountsAsync() =>
        (await relay.Database.CountAsync("accounts"), await relay.Database.CountAsync("devices"), await relay.Database.CountAsync("messages"));
}

public sealed class JsonRequestsInTestingTests(RelayFactory relay) : JsonRequestTests(relay), IClassFixture<RelayFactory>;

public sealed class JsonRequestsInDevelopmentTests(DevelopmentRelayFactory relay) : JsonRequestTests(relay), IClassFixture<DevelopmentRelayFactory>;
