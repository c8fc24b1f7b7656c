using System.Diagnostics;
using System.Net;
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
/// <see cref="SendAsync"/> returns an <see cref="ApnsResponse"/> whenever APNs answered, accepted or rejected, and
/// throws <see cref="ApnsException"/> only when no answer came. It handles on its own what Apple asks of a provider:
/// an ExpiredProviderToken renews the shared token (once) and retries once; IdleTimeout and UnrelatedKeyIdInToken
/// move the request to a fresh connection; a reset or refused stream is retried once on a fresh connection with the
/// same <c>apns-id</c>; after 503 Shutdown and TooManyProviderTokenUpdates later sends use a fresh connection.
/// </remarks>
public sealed partial class ApnsClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly ApnsProviderToken _token;
    private readonly ApnsConnectionPool _production;
    private readonly ApnsConnectionPool _sandbox;
    private readonly TimeSpan _requestTimeout;
    private readonly ApnsMetrics _metrics;
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
        _requestTimeout = options.RequestTimeout;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _metrics = metrics ?? new ApnsMetrics(null);
        _trustedCa = options.TrustedCaPath is { Length: > 0 } path ? X509CertificateLoader.LoadCertificateFromFile(path) : null;
        _production = new ApnsConnectionPool(options.ProductionEndpoint, options, _trustedCa);
        _sandbox = new ApnsConnectionPool(options.SandboxEndpoint, options, _trustedCa);
        _production.ConnectionReplaced += _metrics.ConnectionReplaced;
        _sandbox.ConnectionReplaced += _metrics.ConnectionReplaced;
        _token.Minted += _metrics.TokenMinted;
    }

    /// <summary>The provider token source shared by every request.</summary>
    public ApnsProviderToken ProviderToken => _token;

    /// <summary>
    /// Sends one notification and returns APNs's answer.
    /// </summary>
    /// <exception cref="ArgumentException">The payload is empty or larger than 4096 bytes; nothing was sent.</exception>
    /// <exception cref="ApnsException">No answer came before the deadline or the transport failed twice.</exception>
    public async Task<ApnsResponse> SendAsync(ApnsNotification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        if (notification.Payload.Length is 0 or > ApnsHeaders.MaxPayloadBytes)
        {
            throw new ArgumentException(
                $"The payload is {notification.Payload.Length} bytes; APNs takes 1 to {ApnsHeaders.MaxPayloadBytes}.",
                nameof(notification));
        }

        var pool = notification.Environment == ApnsEnvironment.Sandbox ? _sandbox : _production;
        using var deadline = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken)
            : new CancellationTokenSource();
        deadline.CancelAfter(_requestTimeout);
        var started = Stopwatch.GetTimestamp();
        var renewed = false;
        var movedConnection = false;
        var transportRetried = false;
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
                    throw Timeout(notification);
                }

                ApnsResponse response;
                try
                {
                    using var request = CreateRequest(pool.DevicePathPrefix, notification, AuthorizationFor(token));
                    using var answer = await connection.SendAsync(request, deadline.Token);
                    response = await ReadResponseAsync(answer, notification.ApnsId, deadline.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    throw Timeout(notification);
                }
                catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
                {
                    pool.Replace(connection);
                    if (!transportRetried)
                    {
                        transportRetried = true;
                        LogTransportRetry(_logger, notification.ApnsId, e is HttpRequestException h1 ? h1.HttpRequestError.ToString() : e.GetType().Name);
                        continue;
                    }

                    _metrics.Failed("transport");
                    LogNoAnswer(_logger, notification.ApnsId, e is HttpRequestException h ? h.HttpRequestError.ToString() : e.GetType().Name);
                    throw new ApnsException("No answer came from APNs: the connection failed.", e);
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
                        pool.Replace(connection);
                        continue;
                    case ApnsRejectionReason.TooManyProviderTokenUpdates:
                        LogTokenUpdatesTooFrequent(_logger, notification.ApnsId);
                        pool.Replace(connection);
                        break;
                    case ApnsRejectionReason.Shutdown:
                        // This APNs server is going away: later sends go to a fresh connection. Not retried here, so
                        // an outage never turns into a reconnect loop; the caller retries later, with backoff.
                        pool.Replace(connection);
                        break;
                    case ApnsRejectionReason.InvalidProviderToken or ApnsRejectionReason.Forbidden
                        or ApnsRejectionReason.BadEnvironmentKeyIdInToken or ApnsRejectionReason.MissingProviderToken:
                        LogConfigurationFault(_logger, notification.ApnsId, response.StatusCode, response.ReasonText);
                        break;
                }

                _metrics.Answered(response, Stopwatch.GetElapsedTime(started));
                if (!response.IsAccepted)
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

    private ApnsException Timeout(ApnsNotification notification)
    {
        _metrics.Failed("timeout");
        LogTimeout(_logger, notification.ApnsId, _requestTimeout);
        return new ApnsException($"No answer came from APNs within {_requestTimeout}.") { IsTimeout = true };
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

    private static HttpRequestMessage CreateRequest(string devicePathPrefix, ApnsNotification notification, string authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(devicePathPrefix + notification.DeviceToken))
        {
            // The client's default version policy does not apply to SendAsync(HttpRequestMessage): set it here.
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ReadOnlyMemoryContent(notification.Payload),
        };
        request.Content.Headers.ContentType = JsonContentType;
        var headers = request.Headers;
        headers.TryAddWithoutValidation(ApnsHeaders.Authorization, authorization);
        headers.TryAddWithoutValidation(ApnsHeaders.PushType, notification.PushType.ToHeaderValue());
        headers.TryAddWithoutValidation(ApnsHeaders.Topic, notification.Topic);
        headers.TryAddWithoutValidation(ApnsHeaders.Priority, PriorityText(notification.Priority));
        headers.TryAddWithoutValidation(ApnsHeaders.Id, notification.ApnsId.ToString("D"));
        if (notification.Expiration is { } expiration)
        {
            headers.TryAddWithoutValidation(ApnsHeaders.Expiration, expiration.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (notification.CollapseId is { } collapseId)
        {
            headers.TryAddWithoutValidation(ApnsHeaders.CollapseId, collapseId);
        }

        return request;
    }

    private static string PriorityText(int priority) => priority switch
    {
        10 => "10",
        5 => "5",
        1 => "1",
        _ => priority.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static async Task<ApnsResponse> ReadResponseAsync(HttpResponseMessage answer, Guid requestId, CancellationToken cancellationToken)
    {
        var status = (int)answer.StatusCode;
        // NonValidated: read the raw header without parsing the whole response header store.
        var apnsId = answer.Headers.NonValidated.TryGetValues(ApnsHeaders.Id, out var values)
            && values.Count == 1 && Guid.TryParse(values.ToString(), out var echoed) ? echoed : requestId;
        if (status == 200)
        {
            return new ApnsResponse { StatusCode = 200, ApnsId = apnsId };
        }

        var body = await answer.Content.ReadAsByteArrayAsync(cancellationToken);
        string? reason = null;
        DateTimeOffset? timestamp = null;
        if (body.Length > 0)
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
                    && reader.TryGetInt64(out var milliseconds))
                {
                    timestamp = DateTimeOffset.FromUnixTimeMilliseconds(milliseconds);
                }
            }
        }

        return new ApnsResponse
        {
            StatusCode = status,
            ApnsId = apnsId,
            Reason = ApnsRejectionReasons.Parse(reason),
            ReasonText = reason,
            TokenInvalidatedAt = timestamp,
        };
    }

    private sealed record Bearer(string Token, string HeaderValue);

    private static ApnsProviderToken LoadToken(ApnsOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        return ApnsProviderToken.FromFile(options.TeamId, options.KeyId, options.PrivateKeyPath, timeProvider);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "APNs rejected {ApnsId} with {StatusCode} {Reason}")]
    private static partial void LogRejected(ILogger logger, Guid apnsId, int statusCode, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "APNs rejected {ApnsId} with {StatusCode} {Reason}: the APNs key, team or topic configuration is wrong")]
    private static partial void LogConfigurationFault(ILogger logger, Guid apnsId, int statusCode, string? reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "APNs answered TooManyProviderTokenUpdates to {ApnsId}: the provider token changed too often; replacing the connection")]
    private static partial void LogTokenUpdatesTooFrequent(ILogger logger, Guid apnsId);

    [LoggerMessage(Level = LogLevel.Information, Message = "No answer from APNs for {ApnsId} ({Error}); retrying once on a fresh connection")]
    private static partial void LogTransportRetry(ILogger logger, Guid apnsId, string error);

    // The exception itself is not logged: its message may carry the request URI, which holds the device token.
    [LoggerMessage(Level = LogLevel.Warning, Message = "No answer from APNs for {ApnsId} ({Error})")]
    private static partial void LogNoAnswer(ILogger logger, Guid apnsId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No answer from APNs for {ApnsId} within {Timeout}")]
    private static partial void LogTimeout(ILogger logger, Guid apnsId, TimeSpan timeout);
}
