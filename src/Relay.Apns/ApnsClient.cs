using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Relay.Apns;

/// <summary>
/// A long-lived, thread-safe APNs client using token-based authentication over HTTP/2, as described in
/// <see href="https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns">Sending notification requests to APNs</see>.
/// Create one per team and key and keep it for the life of the process.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="SendAsync"/> returns an <see cref="ApnsResponse"/> whenever APNs answered, accepted or rejected, and
/// throws <see cref="ApnsException"/> only when no answer came. It handles on its own what Apple asks of a provider
/// (<see href="https://developer.apple.com/documentation/usernotifications/handling-notification-responses-from-apns">Handling notification responses from APNs</see>):
/// an ExpiredProviderToken renews the shared token (once) and retries once; IdleTimeout and UnrelatedKeyIdInToken
/// move the request to a fresh connection; after 503 Shutdown and TooManyProviderTokenUpdates later sends use a
/// fresh connection.
/// </para>
/// <para>
/// A request APNs never answered is re-sent with the same <c>apns-id</c>, up to three attempts within the deadline:
/// a reset or refused stream on the same pool without touching the connection, a failed connection after it was
/// retired. Connections are only ever replaced with backoff per slot (1 s doubling to 60 s), so neither a caller's
/// input nor APNs's behaviour can make the client churn connections. No tracing header goes to Apple.
/// </para>
/// </remarks>
public sealed partial class ApnsClient : IDisposable
{
    /// <summary>
    /// The <see cref="ActivitySource"/> of the client's spans, one per request to APNs (<c>POST /3/device/{token}</c>,
    /// with only the token's first 8 digits in <c>url.full</c>). No tracing header ever goes to Apple.
    /// </summary>
    public const string ActivitySourceName = "Relay.Apns";

    private static readonly ActivitySource Spans = new(ActivitySourceName);

    /// <summary>Attempts of one send that may reach APNs without an answer before it fails.</summary>
    private const int MaxAttempts = 3;

    /// <summary>Attempts that never left the process (their connection retired as they started) before it fails.</summary>
    private const int MaxNotSent = 4;

    private readonly ApnsProviderToken _token;
    private readonly ApnsConnectionPool _production;
    private readonly ApnsConnectionPool _sandbox;
    private readonly TimeSpan _requestTimeout;
    private readonly ApnsMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly X509Certificate2? _trustedCa;
    private Bearer? _bearer;

    /// <summary>Creates a client from validated options, loading the <c>.p8</c> key and the optional extra CA.</summary>
    public ApnsClient(IOptions<ApnsOptions> options, TimeProvider timeProvider, ILogger<ApnsClient> logger, ApnsMetrics metrics)
        : this(options?.Value!, LoadToken(options?.Value!, timeProvider), timeProvider, logger, metrics)
    {
    }

    /// <summary>Creates a client with a given token source, which it then owns.</summary>
    public ApnsClient(ApnsOptions options, ApnsProviderToken token, TimeProvider timeProvider, ILogger<ApnsClient>? logger = null, ApnsMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _token = token;
        _time = timeProvider;
        _requestTimeout = options.RequestTimeout;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = metrics ?? new ApnsMetrics(null);
        _trustedCa = options.TrustedCaPath is { Length: > 0 } path ? X509CertificateLoader.LoadCertificateFromFile(path) : null;
        _production = new ApnsConnectionPool(ApnsEnvironment.Production, options.ProductionEndpoint, options, _trustedCa, _logger, _metrics, timeProvider);
        _sandbox = new ApnsConnectionPool(ApnsEnvironment.Sandbox, options.SandboxEndpoint, options, _trustedCa, _logger, _metrics, timeProvider);
        _token.Minted += _metrics.TokenMinted;
    }

    /// <summary>The provider token source shared by every request.</summary>
    public ApnsProviderToken ProviderToken => _token;

    /// <summary>
    /// Sends one notification and returns APNs's answer.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The payload is empty or larger than 4096 bytes, or the device token, topic or collapse id cannot be sent
    /// (see <see cref="ApnsHeaders.IsValidCollapseId"/>); nothing was sent and no connection was touched.
    /// </exception>
    /// <exception cref="ApnsException">
    /// No answer came: the deadline passed, or every attempt lost its stream or its connection
    /// (<see cref="ApnsException.Failure"/> says which).
    /// </exception>
    public async Task<ApnsResponse> SendAsync(ApnsNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        notification.Validate(nameof(notification));
        var pool = notification.Environment == ApnsEnvironment.Sandbox ? _sandbox : _production;
        using var deadline = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : new CancellationTokenSource();
        deadline.CancelAfter(_requestTimeout);
        var started = Stopwatch.GetTimestamp();
        var renewed = false;
        var movedConnection = false;
        var failedAttempts = 0;
        var notSent = 0;
        _metrics.RequestStarted();
        try
        {
            while (true)
            {
                var token = _token.Current;
                ApnsConnection connection;
                try
                {
                    connection = await pool.AcquireAsync(deadline.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw Timeout(pool, notification);
                }

                ApnsResponse response;
                using var span = Spans.HasListeners() ? StartSpan(pool, notification) : null;
                try
                {
                    var stream = new ApnsStream(notification, pool.Authority, AuthorizationFor(token));
                    await connection.SendAsync(stream, deadline.Token);
                    response = ReadResponse(stream);
                    span?.SetTag("http.response.status_code", response.StatusCode);
                }
                catch (OperationCanceledException) when (deadline.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw Timeout(pool, notification);
                }
                catch (Exception e) when (e is HttpRequestException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    var failure = ApnsConnection.Classify(e);
                    var error = Describe(e);
                    span?.SetStatus(ActivityStatusCode.Error, error);
                    switch (failure)
                    {
                        case SendFailure.InvalidRequest:
                            throw NoAnswer(pool, notification, ApnsFailure.InvalidRequest, error, e);
                        case SendFailure.NotSent when ++notSent <= MaxNotSent:
                            LogResending(_logger, notification.ApnsId, failure, error);
                            continue;
                        case SendFailure.NotSent:
                            throw NoAnswer(pool, notification, ApnsFailure.Connection, error, e);
                        case SendFailure.Connection:
                            pool.Retire(connection, "the connection failed (" + error + ")");
                            break;
                    }

                    if (++failedAttempts < MaxAttempts)
                    {
                        // Same notification, same apns-id: a stream on the same pool, a connection on a fresh one.
                        LogResending(_logger, notification.ApnsId, failure, error);
                        continue;
                    }

                    throw NoAnswer(pool, notification, failure == SendFailure.Stream ? ApnsFailure.Stream : ApnsFailure.Connection, error, e);
                }
                finally
                {
                    connection.Release();
                }

                if (response.IsAccepted)
                {
                    connection.MarkAccepted();
                }

                switch (response.Reason)
                {
                    case ApnsRejectionReason.ExpiredProviderToken when !renewed:
                        renewed = true;
                        _token.Renew(token);
                        continue;
                    case ApnsRejectionReason.IdleTimeout or ApnsRejectionReason.UnrelatedKeyIdInToken when !movedConnection:
                        movedConnection = true;
                        pool.Retire(connection, "APNs answered " + response.ReasonText);
                        continue;
                    case ApnsRejectionReason.TooManyProviderTokenUpdates:
                        LogTokenUpdatesTooFrequent(_logger, notification.ApnsId);
                        pool.Retire(connection, "APNs answered " + response.ReasonText);
                        break;
                    case ApnsRejectionReason.Shutdown:
                        // This APNs server is going away: later sends go to a fresh connection. Not retried here, so
                        // an outage never turns into a reconnect loop; the caller retries later, with backoff.
                        pool.Retire(connection, "APNs answered " + response.ReasonText);
                        break;
                }

                _metrics.Answered(response, Stopwatch.GetElapsedTime(started));
                pool.Outages.Answered(response);
                if (response.Outcome == ApnsOutcome.ConfigurationFault)
                {
                    LogConfigurationFault(_logger, notification.ApnsId, response.StatusCode, response.ReasonText);
                }
                else if (!response.IsAccepted)
                {
                    LogRejected(_logger, notification.ApnsId, response.StatusCode, response.ReasonText);
                }

                return response;
            }
        }
        finally
        {
            _metrics.RequestEnded();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _production.Dispose();
        _sandbox.Dispose();
        _token.Dispose();
        _trustedCa?.Dispose();
    }

    private ApnsException Timeout(ApnsConnectionPool pool, ApnsNotification notification)
    {
        _metrics.Failed("timeout");
        pool.Outages.NoAnswer(ApnsFailure.Timeout);
        LogTimeout(_logger, notification.ApnsId, _requestTimeout);
        return new ApnsException(ApnsFailure.Timeout, $"No answer came from APNs within {_requestTimeout}.");
    }

    private ApnsException NoAnswer(ApnsConnectionPool pool, ApnsNotification notification, ApnsFailure failure, string error, Exception cause)
    {
        _metrics.Failed(failure switch
        {
            ApnsFailure.Stream => "stream",
            ApnsFailure.InvalidRequest => "invalid_request",
            _ => "connection",
        });
        pool.Outages.NoAnswer(failure);
        LogNoAnswer(_logger, notification.ApnsId, failure, error);
        return failure switch
        {
            ApnsFailure.InvalidRequest => new ApnsException(failure, "The HTTP stack refused to send the request as built; nothing was sent.", cause),
            ApnsFailure.Stream => new ApnsException(failure, $"No answer came from APNs: the stream was reset {MaxAttempts} times.", cause),
            _ => new ApnsException(failure, "No answer came from APNs: the connection failed.", cause),
        };
    }

    /// <summary>The failure's kind without its message, which may carry the request URI and so the device token.</summary>
    private static string Describe(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException protocol)
            {
                return "HTTP/2 error " + protocol.ErrorCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            if (inner is Http2.Http2NotSentException)
            {
                return "not sent";
            }

            if (inner is System.Net.Sockets.SocketException socket)
            {
                return socket.SocketErrorCode.ToString();
            }
        }

        return e is HttpRequestException { HttpRequestError: not HttpRequestError.Unknown } h ? h.HttpRequestError.ToString() : e.GetType().Name;
    }

    /// <summary>
    /// <c>bearer {token}</c>, built once per provider token rather than once per request (the token is the same
    /// string instance until it is renewed).
    /// </summary>
    private string AuthorizationFor(string token)
    {
        var bearer = Volatile.Read(ref _bearer);
        if (bearer is null || !ReferenceEquals(bearer.Token, token))
        {
            bearer = new Bearer(token, "bearer " + token);
            Volatile.Write(ref _bearer, bearer);
        }

        return bearer.HeaderValue;
    }

    private static Activity? StartSpan(ApnsConnectionPool pool, ApnsNotification notification)
    {
        var span = Spans.StartActivity("POST /3/device/{token}", ActivityKind.Client);
        if (span is { IsAllDataRequested: true })
        {
            var host = pool.Endpoint.Host;
            span.SetTag("http.request.method", "POST");
            span.SetTag("server.address", host);
            span.SetTag("server.port", pool.Endpoint.Port);
            span.SetTag("url.full", $"https://{System.Text.Encoding.ASCII.GetString(pool.Authority)}{ApnsHeaders.DevicePath}{notification.DeviceToken.AsSpan(0, 8)}…");
            span.SetTag("apns.id", notification.ApnsId.ToString("D"));
        }

        return span;
    }

    private ApnsResponse ReadResponse(ApnsStream stream)
    {
        var apnsId = stream.EchoedApnsId ?? stream.Notification.ApnsId;
        if (stream.Status == 200)
        {
            return new ApnsResponse { StatusCode = 200, ApnsId = apnsId };
        }

        var (reason, timestamp) = ParseError(stream.ResponseBody);
        return new ApnsResponse
        {
            StatusCode = stream.Status,
            ApnsId = apnsId,
            Reason = ApnsRejectionReasons.Parse(reason),
            ReasonText = reason,
            TokenInvalidatedAt = timestamp,
            RetryAfter = RetryConditionHeaderValue.TryParse(stream.RetryAfter, out var retryAfter) ? RetryAfter(retryAfter) : null,
        };
    }

    /// <summary><c>reason</c> and <c>timestamp</c> from an error body; a body that is not JSON is an unknown reason.</summary>
    private static (string? Reason, DateTimeOffset? Timestamp) ParseError(ReadOnlySpan<byte> body)
    {
        string? reason = null;
        DateTimeOffset? timestamp = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
                {
                    continue;
                }

                if (reader.ValueTextEquals("reason"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    reason = reader.GetString();
                }
                else if (reader.ValueTextEquals("timestamp"u8) && reader.Read() && reader.TokenType == JsonTokenType.Number
                    && reader.TryGetInt64(out var milliseconds) && milliseconds is >= 0 and <= 253_402_300_799_999)
                {
                    timestamp = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
                }
            }
        }
        catch (JsonException)
        {
            // Whatever was read before the malformed part stands.
        }

        return (reason, timestamp);
    }

    /// <summary>A <c>Retry-After</c> as a wait from now: its seconds, or the time until its date (zero if past).</summary>
    private TimeSpan? RetryAfter(RetryConditionHeaderValue? retryAfter) => retryAfter switch
    {
        { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
        { Date: { } date } => date > _time.GetUtcNow() ? date - _time.GetUtcNow() : TimeSpan.Zero,
        _ => null,
    };

    private sealed record Bearer(string Token, string HeaderValue);

    private static ApnsProviderToken LoadToken(ApnsOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ApnsProviderToken.FromFile(options.TeamId, options.KeyId, options.PrivateKeyPath, timeProvider);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "APNs rejected {ApnsId} with {StatusCode} {Reason}")]
    private static partial void LogRejected(ILogger logger, Guid apnsId, int statusCode, string? reason);

    // Per push at Debug: the pool's outage watch logs the Error once, with counts.
    [LoggerMessage(Level = LogLevel.Debug, Message = "APNs rejected {ApnsId} with {StatusCode} {Reason}: the APNs key, team or topic configuration is wrong")]
    private static partial void LogConfigurationFault(ILogger logger, Guid apnsId, int statusCode, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "APNs answered TooManyProviderTokenUpdates to {ApnsId}: the provider token changed too often; replacing the connection")]
    private static partial void LogTokenUpdatesTooFrequent(ILogger logger, Guid apnsId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No answer from APNs for {ApnsId} ({Failure}: {Error}); re-sending with the same apns-id, on a fresh connection if that one failed")]
    private static partial void LogResending(ILogger logger, Guid apnsId, SendFailure failure, string error);

    // The exception itself is not logged: its message may carry the request URI, which holds the device token.
    [LoggerMessage(Level = LogLevel.Debug, Message = "No answer from APNs for {ApnsId} ({Failure}: {Error})")]
    private static partial void LogNoAnswer(ILogger logger, Guid apnsId, ApnsFailure failure, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "No answer from APNs for {ApnsId} within {Timeout}")]
    private static partial void LogTimeout(ILogger logger, Guid apnsId, TimeSpan timeout);
}
