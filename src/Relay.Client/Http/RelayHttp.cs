using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using NSec.Cryptography;

namespace Relay.Client.Http;

/// <summary>One request to the relay, rebuilt for every attempt: the body is serialized once, the key kept.</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="Path">The path relative to the base address, without a leading slash (<c>v1/devices</c>).</param>
internal sealed record RelayRequest(HttpMethod Method, string Path)
{
    /// <summary>The JSON body, if any.</summary>
    public object? Body { get; init; }

    /// <summary>Whether it carries the bearer token (everything but account creation, sign-in and sealed sends).</summary>
    public bool Authenticated { get; init; } = true;

    /// <summary>The <c>Idempotency-Key</c> header, the same on every attempt.</summary>
    public string? IdempotencyKey { get; init; }

    /// <summary>
    /// A sealed send: it goes over connections of its own, so that the relay cannot link it to the signed-in requests
    /// by the connection they share.
    /// </summary>
    public bool Sealed { get; init; }
}

/// <summary>
/// The client's HTTP side: sign-in and the cached bearer token, and every request with its retries — backoff with
/// jitter on <c>429</c> and <c>503</c> (honouring <c>Retry-After</c>) and on a lost answer, within
/// <see cref="RelayClientOptions.MaxAttempts"/>; one fresh sign-in and one retry on a <c>401</c>.
/// </summary>
internal sealed class RelayHttp : IDisposable
{
    private const string IdempotencyKeyHeader = "Idempotency-Key";
    private const string AccountGoneTitle = "Account gone";
    private const string ChallengeNotValidTitle = "Challenge not valid";

    private readonly HttpClient _http;
    private readonly HttpClient _sealedHttp;
    private readonly bool _ownsHttp;
    private readonly Key _identityKey;
    private readonly SemaphoreSlim _signInGate = new(1, 1);
    private readonly Lock _state = new();
    private Guid? _accountId;
    private Session? _session;

    public RelayHttp(RelayClientOptions options)
    {
        Options = options;
        BaseAddress = options.BaseAddress!.AbsoluteUri.EndsWith('/') ? options.BaseAddress : new Uri(options.BaseAddress.AbsoluteUri + "/");
        _identityKey = options.IdentityKey!;
        _accountId = options.AccountId;
        if (options.HttpClient is { } shared)
        {
            _http = shared;
        }
        else
        {
            _http = options.HttpMessageHandler is { } handler
                ? new HttpClient(handler, disposeHandler: false)
                : new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(15) });
            _ownsHttp = true;
        }

        // A handler or client the app gives is used for everything, sealed sends included: its connections are its choice.
        _sealedHttp = _ownsHttp && options.HttpMessageHandler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(15) })
            : _http;
    }

    public RelayClientOptions Options { get; }

    /// <summary>The base address, ending with a slash so relative paths resolve under it.</summary>
    public Uri BaseAddress { get; }

    public TimeProvider Time => Options.TimeProvider;

    public Key IdentityKey => _identityKey;

    /// <summary>The account's id, once known (from the options, account creation or sign-in).</summary>
    public Guid? AccountId
    {
        get
        {
            lock (_state)
            {
                return _accountId;
            }
        }
    }

    /// <summary>The account's id, signing in first when it is not known yet.</summary>
    public async Task<Guid> GetAccountIdAsync(CancellationToken cancellationToken)
    {
        if (AccountId is { } known)
        {
            return known;
        }

        await GetAccessTokenAsync(cancellationToken);
        return AccountId!.Value;
    }

    /// <summary>A bearer token valid for a while yet: the cached one, or a new sign-in's.</summary>
    public async ValueTask<string> GetAccessTokenAsync(CancellationToken cancellationToken)
    {
        if (CurrentSession() is { } fresh && !IsDue(fresh))
        {
            return fresh.Token;
        }

        await _signInGate.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have signed in while this one waited.
            if (CurrentSession() is { } current && !IsDue(current))
            {
                return current.Token;
            }

            return (await SignInCoreAsync(cancellationToken)).Token;
        }
        finally
        {
            _signInGate.Release();
        }
    }

    /// <summary>Signs in now, whatever the cached token.</summary>
    public async Task<RelaySession> SignInAsync(CancellationToken cancellationToken)
    {
        await _signInGate.WaitAsync(cancellationToken);
        try
        {
            var session = await SignInCoreAsync(cancellationToken);
            return new RelaySession(session.AccountId, session.ExpiresAt);
        }
        finally
        {
            _signInGate.Release();
        }
    }

    /// <summary>Forgets the cached token (when it is <paramref name="token"/>, or whatever it is when null).</summary>
    public void ForgetToken(string? token = null)
    {
        lock (_state)
        {
            if (token is null || _session?.Token == token)
            {
                _session = null;
            }
        }
    }

    /// <summary><c>POST /v1/accounts</c> for the identity key; the id becomes the client's.</summary>
    public async Task<AccountRegistration> CreateAccountAsync(CancellationToken cancellationToken)
    {
        var publicKey = Convert.ToBase64String(_identityKey.PublicKey.Export(KeyBlobFormat.RawPublicKey));
        using var response = await SendAsync(
            new RelayRequest(HttpMethod.Post, "v1/accounts") { Body = new CreateAccountBody(publicKey), Authenticated = false },
            cancellationToken);
        var body = await ReadAsync<AccountBody>(response, cancellationToken);
        lock (_state)
        {
            if (_accountId != body.AccountId)
            {
                _accountId = body.AccountId;
                _session = null;
            }
        }

        return new AccountRegistration(body.AccountId, response.StatusCode == HttpStatusCode.Created);
    }

    /// <summary>Sends a request and reads its JSON answer.</summary>
    public async Task<T> SendAsync<T>(RelayRequest request, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(request, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    /// <summary>Sends a request until it succeeds or the client gives up; the caller disposes the answer.</summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    /// <exception cref="HttpRequestException">No answer came within the attempts.</exception>
    public async Task<HttpResponseMessage> SendAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        var body = request.Body is null ? null : JsonSerializer.SerializeToUtf8Bytes(request.Body, request.Body.GetType(), RelayJson.Options);
        var signedInAgain = false;
        for (var attempt = 1; ; attempt++)
        {
            var token = request.Authenticated ? await GetAccessTokenAsync(cancellationToken) : null;
            using var message = Build(request, body, token);
            HttpResponseMessage response;
            try
            {
                response = await (request.Sealed ? _sealedHttp : _http).SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken);
            }
            catch (Exception e) when (IsLostAnswer(e, cancellationToken) && attempt < Options.MaxAttempts)
            {
                // No answer: the request may or may not have been done; every request the client makes is safe to
                // repeat (sends keep their Idempotency-Key), so it is sent again.
                await DelayAsync(attempt, retryAfter: null, cancellationToken);
                continue;
            }

            if (response.IsSuccessStatusCode)
            {
                return response;
            }

            using (response)
            {
                var problem = await ProblemAsync(response, cancellationToken);
                if (response.StatusCode == HttpStatusCode.Unauthorized && token is not null && !signedInAgain && problem.Title != AccountGoneTitle)
                {
                    // Expired, or issued under a signing key the relay no longer has: sign in again, then retry once.
                    ForgetToken(token);
                    signedInAgain = true;
                    attempt--;
                    continue;
                }

                if (IsRetryable(response) && attempt < Options.MaxAttempts)
                {
                    await DelayAsync(attempt, problem.RetryAfter, cancellationToken);
                    continue;
                }

                throw problem;
            }
        }
    }

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }

        if (_sealedHttp != _http)
        {
            _sealedHttp.Dispose();
        }

        _signInGate.Dispose();
    }

    /// <summary>Reads an answer's JSON body.</summary>
    public static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken) =>
        await response.Content.ReadFromJsonAsync<T>(RelayJson.Options, cancellationToken)
            ?? throw new RelayApiException($"The relay answered {(int)response.StatusCode} with an empty body where {typeof(T).Name} was expected.");

    /// <summary>The exception for a refused request, with the problem's title, detail and extensions.</summary>
    internal static async Task<RelayApiException> ProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        JsonElement? problem = null;
        string? title = null, detail = null;
        if (response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
                var root = document.RootElement.Clone();
                problem = root;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    title = StringOf(root, "title");
                    detail = StringOf(root, "detail");
                }
            }
            catch (JsonException)
            {
                // Not the relay's problem+json (a proxy's page, say): the status still says what happened.
            }
        }

        return new RelayApiException(response.StatusCode, title ?? response.ReasonPhrase, detail, problem, RetryAfterOf(response));
    }

    private HttpRequestMessage Build(RelayRequest request, byte[]? body, string? token)
    {
        var message = new HttpRequestMessage(request.Method, new Uri(BaseAddress, request.Path));
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (token is not null)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (request.IdempotencyKey is not null)
        {
            message.Headers.TryAddWithoutValidation(IdempotencyKeyHeader, request.IdempotencyKey);
        }

        if (body is not null)
        {
            message.Content = new ByteArrayContent(body);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        return message;
    }

    private async Task<Session> SignInCoreAsync(CancellationToken cancellationToken)
    {
        var accountId = AccountId ?? (await CreateAccountAsync(cancellationToken)).AccountId;
        for (var tries = 1; ; tries++)
        {
            var challenge = await SendAsync<ChallengeBody>(
                new RelayRequest(HttpMethod.Post, "v1/auth/challenge") { Body = new ChallengeRequestBody(accountId), Authenticated = false },
                cancellationToken);
            var signature = SignatureAlgorithm.Ed25519.Sign(_identityKey, RelaySignatures.SignInText(accountId, challenge.Challenge));
            try
            {
                var issued = await SendAsync<TokenBody>(
                    new RelayRequest(HttpMethod.Post, "v1/auth/token")
                    {
                        Body = new TokenRequestBody(accountId, challenge.Challenge, Convert.ToBase64String(signature)),
                        Authenticated = false,
                    },
                    cancellationToken);
                var session = new Session(accountId, issued.AccessToken, issued.ExpiresAt, Time.GetUtcNow());
                lock (_state)
                {
                    _session = session;
                }

                return session;
            }
            catch (RelayApiException e) when (e.StatusCode == HttpStatusCode.Unauthorized && e.Title == ChallengeNotValidTitle && tries == 1)
            {
                // An attempt whose answer was lost used the challenge up: a new one, once.
            }
        }
    }

    private Session? CurrentSession()
    {
        lock (_state)
        {
            return _session;
        }
    }

    private bool IsDue(Session session)
    {
        var lifetime = session.ExpiresAt - session.IssuedAt;
        var margin = lifetime / 4 < Options.TokenRenewalMargin ? lifetime / 4 : Options.TokenRenewalMargin;
        return Time.GetUtcNow() >= session.ExpiresAt - margin;
    }

    private static bool IsRetryable(HttpResponseMessage response) =>
        response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
        // The same Idempotency-Key while the first request is still being accepted: wait and ask again.
        || (response.StatusCode == HttpStatusCode.Conflict && response.Headers.RetryAfter is not null);

    private static bool IsLostAnswer(Exception e, CancellationToken cancellationToken) =>
        e is HttpRequestException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested);

    /// <summary>How early a timer may fire: one tick of the coarsest clocks.</summary>
    private const double TimerTickMilliseconds = 16;

    /// <summary>
    /// Waits before attempt <paramref name="attempt"/> + 1: the relay's <c>Retry-After</c> plus up to one initial
    /// delay of jitter, or else exponential backoff from the initial delay, capped, with equal jitter.
    /// </summary>
    private Task DelayAsync(int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        var initial = Options.RetryInitialDelay.TotalMilliseconds;
        double milliseconds;
        if (retryAfter is { } asked)
        {
            // "No sooner than Retry-After" needs one timer tick on top: a timer may fire that early.
            milliseconds = asked.TotalMilliseconds + TimerTickMilliseconds + initial * Random.Shared.NextDouble();
        }
        else
        {
            var backoff = Math.Min(Options.RetryMaxDelay.TotalMilliseconds, initial * Math.Pow(2, attempt - 1));
            milliseconds = backoff / 2 + backoff / 2 * Random.Shared.NextDouble();
        }

        return Task.Delay(TimeSpan.FromMilliseconds(milliseconds), Time, cancellationToken);
    }

    private static TimeSpan? RetryAfterOf(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
        _ => null,
    };

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private sealed record Session(Guid AccountId, string Token, DateTimeOffset ExpiresAt, DateTimeOffset IssuedAt);

    private sealed record CreateAccountBody(string IdentityKey);

    private sealed record AccountBody(Guid AccountId);

    private sealed record ChallengeRequestBody(Guid AccountId);

    private sealed record ChallengeBody(string Challenge, DateTimeOffset ExpiresAt);

    private sealed record TokenRequestBody(Guid AccountId, string Challenge, string Signature);

    private sealed record TokenBody(string AccessToken, DateTimeOffset ExpiresAt);
}
