using System.Net;
using Microsoft.Extensions.Time.Testing;
using NSec.Cryptography;

namespace Relay.Client.Tests;

/// <summary>
/// The client's own promises, against a stub relay that can answer anything: retries keep the Idempotency-Key and
/// honour Retry-After, stop within their attempts, never repeat a 4xx; a 401 signs in again exactly once; a token
/// is renewed before it expires.
/// </summary>
public sealed class RelayClientRetryTests : IDisposable
{
    private static readonly OutgoingMessage Message = new() { To = [new(Guid.NewGuid())], Ciphertext = new byte[] { 1, 2, 3 } };
    private const string SendPath = "/v1/messages";

    private readonly Key _identityKey = Key.Create(SignatureAlgorithm.Ed25519);
    private readonly StubRelay _relay = new();

    [Fact]
    public async Task A503AndA429AreRetriedWithTheSameIdempotencyKeyNoSoonerThanRetryAfter()
    {
        _relay.Answer = (_, n) => n switch
        {
            1 => StubRelay.Problem(HttpStatusCode.ServiceUnavailable, "Database unavailable", retryAfter: 1),
            2 => StubRelay.Problem(HttpStatusCode.TooManyRequests, "Too many requests", retryAfter: 1),
            _ => Sent(),
        };
        using var relay = Client();

        var result = await relay.Messages.SendAsync(Message);

        Assert.Equal(SentId, result.MessageId);
        var sends = _relay.To(SendPath);
        Assert.Equal(3, sends.Count);
        Assert.NotNull(sends[0].IdempotencyKey);
        Assert.All(sends, s => Assert.Equal(sends[0].IdempotencyKey, s.IdempotencyKey));
        Assert.All(sends, s => Assert.Equal(sends[0].Body!.Value.GetRawText(), s.Body!.Value.GetRawText()));
        Assert.True(sends[1].At - sends[0].At >= TimeSpan.FromSeconds(1), $"retried after {sends[1].At - sends[0].At}");
        Assert.True(sends[2].At - sends[1].At >= TimeSpan.FromSeconds(1), $"retried after {sends[2].At - sends[1].At}");
    }

    [Fact]
    public async Task RetriesStopAfterMaxAttemptsWithTheRelaysProblem()
    {
        _relay.Answer = (_, _) => StubRelay.Problem(HttpStatusCode.ServiceUnavailable, "Database unavailable");
        using var relay = Client(maxAttempts: 3);

        var refused = await Assert.ThrowsAsync<RelayApiException>(() => relay.Messages.SendAsync(Message));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("Database unavailable", refused.Title);
        Assert.Equal("what to do", refused.Detail);
        Assert.Equal(3, _relay.To(SendPath).Count);
    }

    [Fact]
    public async Task ARefusalThatIsNotTransientIsNeverRetriedAndKeepsItsExtensions()
    {
        _relay.Answer = (_, _) => StubRelay.Problem(HttpStatusCode.RequestEntityTooLarge, "Ciphertext too large", extensions: ""","maxCiphertextBytes":3000""");
        using var relay = Client();

        var refused = await Assert.ThrowsAsync<RelayApiException>(() => relay.Messages.SendAsync(Message));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, refused.StatusCode);
        Assert.Equal(3000, refused.Problem!.Value.GetProperty("maxCiphertextBytes").GetInt32());
        Assert.Single(_relay.To(SendPath));
    }

    [Fact]
    public async Task ALostAnswerIsSentAgainWithTheSameIdempotencyKey()
    {
        _relay.Answer = (_, n) => n == 1 ? throw new HttpRequestException("connection reset") : Sent();
        using var relay = Client();

        await relay.Messages.SendAsync(Message);

        var sends = _relay.To(SendPath);
        Assert.Equal(2, sends.Count);
        Assert.Equal(sends[0].IdempotencyKey, sends[1].IdempotencyKey);
    }

    [Fact]
    public async Task EverySendHasItsOwnRandomIdempotencyKeyUnlessTheAppGivesOne()
    {
        _relay.Answer = (_, _) => Sent();
        using var relay = Client();

        await relay.Messages.SendAsync(Message);
        await relay.Messages.SendAsync(Message);
        await relay.Messages.SendAsync(new OutgoingMessage { To = Message.To, Ciphertext = Message.Ciphertext, IdempotencyKey = "chat-7-message-42" });

        var keys = _relay.To(SendPath).Select(s => s.IdempotencyKey).ToList();
        Assert.Equal(3, keys.Distinct().Count());
        Assert.All(keys[..2], k => Assert.Matches("^[0-9a-f]{32}$", k));
        Assert.Equal("chat-7-message-42", keys[2]);
    }

    [Fact]
    public async Task A401SignsInAgainOnceAndRetriesTheRequestWithTheNewToken()
    {
        _relay.Answer = (_, n) => n == 1 ? StubRelay.Problem(HttpStatusCode.Unauthorized, "Bearer token expired") : Sent();
        using var relay = Client();

        await relay.Messages.SendAsync(Message);

        var sends = _relay.To(SendPath);
        Assert.Equal(["token-1", "token-2"], sends.Select(s => s.Bearer));
        Assert.Equal(2, _relay.To("/v1/auth/challenge").Count);
        Assert.Equal(sends[0].IdempotencyKey, sends[1].IdempotencyKey);
    }

    [Fact]
    public async Task ASecond401IsThrownAndAnAccountGoneIsNotRetriedAtAll()
    {
        _relay.Answer = (request, _) => StubRelay.Problem(HttpStatusCode.Unauthorized, request.Path == SendPath ? "Bearer token expired" : "Account gone");
        using var relay = Client();

        var expired = await Assert.ThrowsAsync<RelayApiException>(() => relay.Messages.SendAsync(Message));
        var gone = await Assert.ThrowsAsync<RelayApiException>(() => relay.Devices.ListAsync());

        Assert.Equal((HttpStatusCode.Unauthorized, "Bearer token expired"), (expired.StatusCode, expired.Title));
        Assert.Equal(2, _relay.To(SendPath).Count);
        Assert.Equal("Account gone", gone.Title);
        Assert.Single(_relay.To("/v1/devices"));
    }

    [Fact]
    public async Task TheTokenIsRenewedAMinuteBeforeItExpiresAndNotBefore()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        _relay.Time = clock;
        _relay.Answer = (_, _) => StubRelay.Json(HttpStatusCode.OK, "[]");
        using var relay = Client(clock: clock);

        await relay.Devices.ListAsync();
        clock.Advance(TimeSpan.FromMinutes(58));
        await relay.Devices.ListAsync();
        clock.Advance(TimeSpan.FromMinutes(1.5));
        await relay.Devices.ListAsync();

        Assert.Equal(["token-1", "token-1", "token-2"], _relay.To("/v1/devices").Select(s => s.Bearer));
        Assert.Empty(_relay.Requests.Where(r => r.Path == "/v1/accounts").Skip(1));
    }

    [Fact]
    public async Task ASealedSendCarriesNoBearerTokenAndEveryRecipientsDeliveryKey()
    {
        _relay.Answer = (_, _) => Sent();
        using var relay = Client();
        byte[] key = [.. Enumerable.Range(0, 16).Select(i => (byte)i)];
        var plain = new OutgoingMessage { To = [new(Guid.NewGuid())], Ciphertext = new byte[] { 1 } };

        await Assert.ThrowsAsync<ArgumentException>(() => relay.Messages.SendSealedAsync(plain));
        await relay.Messages.SendSealedAsync(new OutgoingMessage { To = [new(plain.To[0].AccountId) { DeliveryKey = key }], Ciphertext = new byte[] { 1 } });

        var sent = Assert.Single(_relay.Requests);
        Assert.Equal("/v1/messages/sealed", sent.Path);
        Assert.Null(sent.Bearer);
        Assert.NotNull(sent.IdempotencyKey);
        var to = Assert.Single(sent.Body!.Value.GetProperty("to").EnumerateArray());
        Assert.Equal(plain.To[0].AccountId, to.GetProperty("accountId").GetGuid());
        Assert.Equal(Convert.ToBase64String(key), to.GetProperty("deliveryKey").GetString());
    }

    [Fact]
    public async Task RecipientsWithoutAKeyArePlainIdsAndPerDeviceCiphertextsAreBase64()
    {
        _relay.Answer = (_, _) => Sent();
        using var relay = Client();
        var device = Guid.NewGuid();
        var recipient = Guid.NewGuid();

        await relay.Messages.SendAsync(new OutgoingMessage
        {
            To = [new(recipient)],
            Ciphertexts = [new(device, new byte[] { 0xfb, 0xff })],
            TtlSeconds = 60,
        });

        var body = _relay.To(SendPath)[0].Body!.Value;
        Assert.Equal(recipient, body.GetProperty("to")[0].GetGuid());
        Assert.Equal(device, body.GetProperty("ciphertexts")[0].GetProperty("deviceId").GetGuid());
        Assert.Equal("+/8=", body.GetProperty("ciphertexts")[0].GetProperty("ciphertext").GetString());
        Assert.Equal(60, body.GetProperty("ttlSeconds").GetInt32());
        Assert.False(body.TryGetProperty("ciphertext", out _));
        Assert.False(body.TryGetProperty("collapseId", out _));
    }

    public void Dispose()
    {
        _identityKey.Dispose();
        _relay.Dispose();
    }

    private static readonly Guid SentId = Guid.Parse("5d1f0a7c-2b3e-4f60-8a9b-0c1d2e3f4a5b");

    private static HttpResponseMessage Sent() => StubRelay.Json(HttpStatusCode.OK, $$"""{"messageId":"{{SentId}}","deliveries":[]}""");

    private RelayClient Client(int maxAttempts = 5, TimeProvider? clock = null) => new(new RelayClientOptions
    {
        BaseAddress = new Uri("http://127.0.0.1:9/"),
        IdentityKey = _identityKey,
        HttpMessageHandler = _relay,
        MaxAttempts = maxAttempts,
        RetryInitialDelay = TimeSpan.FromMilliseconds(10),
        RetryMaxDelay = TimeSpan.FromMilliseconds(50),
        TimeProvider = clock ?? TimeProvider.System,
    });
}
