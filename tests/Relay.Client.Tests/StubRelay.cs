using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Relay.Client.Tests;

/// <summary>
/// Plays a relay for the client's own logic (retries, keys, sign-in): sign-in always succeeds with a numbered token,
/// and every other request is answered by <see cref="Answer"/>. Records what the client sent.
/// The client against the real relay is tested in Relay.Api.Tests/Sdk.
/// </summary>
internal sealed class StubRelay : HttpMessageHandler
{
    public static readonly Guid AccountId = Guid.Parse("0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60");

    private int _tokens;

    public ConcurrentQueue<Recorded> Requests { get; } = new();

    /// <summary>How tokens expire: this long after issue.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The clock the issued tokens' expiries are computed from.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Answers a request other than sign-in; the request's number among those to the same path is given.</summary>
    public Func<Recorded, int, HttpResponseMessage> Answer { get; set; } = (_, _) => Json(HttpStatusCode.OK, "{}");

    public IReadOnlyList<Recorded> To(string path) => [.. Requests.Where(r => r.Path == path)];

    public static HttpResponseMessage Json(HttpStatusCode status, string json, string mediaType = "application/json") =>
        new(status) { Content = new StringContent(json, Encoding.UTF8, mediaType) };

    public static HttpResponseMessage Problem(HttpStatusCode status, string title, int? retryAfter = null, string extensions = "")
    {
        var response = Json(status, $$"""{"status":{{(int)status}},"title":"{{title}}","detail":"what to do"{{extensions}}}""", "application/problem+json");
        if (retryAfter is { } seconds)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(seconds));
        }

        return response;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        var recorded = new Recorded(
            request.Method.Method,
            request.RequestUri!.AbsolutePath,
            request.RequestUri.Query,
            request.Headers.Authorization?.Parameter,
            request.Headers.TryGetValues("Idempotency-Key", out var keys) ? keys.Single() : null,
            body is null ? null : JsonDocument.Parse(body).RootElement.Clone(),
            DateTimeOffset.UtcNow);
        Requests.Enqueue(recorded);
        return recorded.Path switch
        {
            "/v1/accounts" when recorded.Method == "POST" => Json(HttpStatusCode.OK, $$"""{"accountId":"{{AccountId}}"}"""),
            "/v1/auth/challenge" => Json(HttpStatusCode.OK, $$"""{"challenge":"{{Convert.ToBase64String(new byte[32])}}","expiresAt":"{{DateTimeOffset.UtcNow.AddMinutes(1):O}}"}"""),
            "/v1/auth/token" => Json(HttpStatusCode.OK, $$"""{"accessToken":"token-{{Interlocked.Increment(ref _tokens)}}","expiresAt":"{{(Time.GetUtcNow() + TokenLifetime):O}}"}"""),
            _ => Answer(recorded, Requests.Count(r => r.Path == recorded.Path)),
        };
    }

    /// <summary>One request as the stub saw it.</summary>
    public sealed record Recorded(string Method, string Path, string Query, string? Bearer, string? IdempotencyKey, JsonElement? Body, DateTimeOffset At);
}
