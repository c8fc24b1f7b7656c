using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Relay.MockApns;

/// <summary>
/// <c>POST /3/device/{token}</c>, validated in about the order APNs does
/// (<see href="https://developer.apple.com/documentation/usernotifications/sending-notification-requests-to-apns"/>).
/// Every other path not claimed by the control endpoints lands here too, to be answered 405 or 404.
/// </summary>
internal sealed class ApnsRequestHandler
{
    private const string DevicePathPrefix = "/3/device/";
    private const int MaxPayloadBytes = 4096;
    private const int DeviceTokenLength = 64;
    private const int MaxCollapseIdBytes = 64;
    private const long MaxProviderTokenAgeSeconds = 60 * 60;

    private static readonly SearchValues<char> HexDigits = SearchValues.Create("0123456789abcdefABCDEF");
    private static readonly ConcurrentDictionary<string, byte[]> ErrorBodies = new(StringComparer.Ordinal);

    private readonly MockApnsOptions _options;
    private readonly FrozenSet<string>? _topics;
    private readonly ProviderTokenVerifier _tokens;
    private readonly ConnectionRegistry _connections;
    private readonly ScriptBook _scripts;
    private readonly NotificationLog _log;
    private readonly Statistics _statistics;
    private readonly TimeProvider _time;

    public ApnsRequestHandler(
        MockApnsOptions options,
        ProviderTokenVerifier tokens,
        ConnectionRegistry connections,
        ScriptBook scripts,
        NotificationLog log,
        Statistics statistics)
    {
        _options = options;
        _topics = options.Topics.Count == 0 ? null : options.Topics.ToFrozenSet(StringComparer.Ordinal);
        _tokens = tokens;
        _connections = connections;
        _scripts = scripts;
        _log = log;
        _statistics = statistics;
        _time = options.TimeProvider;
    }

    public async Task HandleAsync(HttpContext context)
    {
        var connection = _connections.Find(context.Connection.Id);
        var holdsTheOnlyStream = false;
        if (_options.EnforceOneStreamRule && connection is { HasSucceeded: false })
        {
            if (!connection.TryEnterUnauthorizedStream())
            {
                _statistics.StreamRefused();
                ResetStream(context, MockApnsBehavior.RefusedStreamErrorCode);
                return;
            }

            holdsTheOnlyStream = true;
        }

        try
        {
            _statistics.Request(context.Request.Headers);
            await ProcessAsync(context, connection);
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client reset the stream or the connection is gone: nobody is left to answer.
        }
        finally
        {
            if (holdsTheOnlyStream)
            {
                connection!.ExitUnauthorizedStream();
            }
        }
    }

    private async Task ProcessAsync(HttpContext context, MockConnection? connection)
    {
        var request = context.Request;
        var apnsIdHeader = request.Headers["apns-id"];
        var apnsId = apnsIdHeader.Count == 1 && IsCanonicalUuid(apnsIdHeader[0])
            ? ToLowerInvariantIfNeeded(apnsIdHeader[0]!)
            : Guid.NewGuid().ToString();

        var failure = Validate(request, connection, out var token, out var deviceToken, out var topic);
        if (failure.Status != 0)
        {
            await RejectAsync(context, apnsId, failure.Status, failure.Reason);
            return;
        }

        var (bodyFailure, body, bodyLength) = await ReadBodyAsync(request, context.RequestAborted);
        if (bodyFailure.Status != 0)
        {
            await RejectAsync(context, apnsId, bodyFailure.Status, bodyFailure.Reason);
            return;
        }

        var behavior = _scripts.Next(deviceToken.Span);
        if (behavior is not null)
        {
            if (behavior.DelayBefore > TimeSpan.Zero)
            {
                await Task.Delay(behavior.DelayBefore, context.RequestAborted);
            }

            switch (behavior.Kind)
            {
                case MockApnsBehaviorKind.Reject:
                    var timestamp = behavior.Timestamp ??
                        (behavior.Status == StatusCodes.Status410Gone ? _time.GetUtcNow().ToUnixTimeMilliseconds() : null);
                    if (behavior.RetryAfter is not null)
                    {
                        context.Response.Headers.RetryAfter = behavior.RetryAfter;
                    }

                    await RejectAsync(context, apnsId, behavior.Status, behavior.Reason!, timestamp);
                    return;
                case MockApnsBehaviorKind.ResetConnection:
                    _statistics.ConnectionReset();
                    if (connection is null)
                    {
                        context.Abort();
                    }
                    else
                    {
                        connection.Abort();
                    }

                    return;
                case MockApnsBehaviorKind.ResetStream:
                    _statistics.StreamReset();
                    ResetStream(context, behavior.ErrorCode);
                    return;
                case MockApnsBehaviorKind.GoAway:
                    if (connection?.RequestClose() == true)
                    {
                        _statistics.GoAwaySent();
                    }

                    break;
            }
        }

        connection?.MarkSucceeded();
        _statistics.Accepted();
        if (_options.RecordNotifications)
        {
            _log.Add(new MockApnsNotification
            {
                DeviceToken = deviceToken.ToString(),
                Topic = topic!,
                ApnsId = apnsId,
                Headers = ApnsHeaders(request.Headers),
                RequestHeaders = AllHeaders(request.Headers),
                HasAuthorization = true,
                ProviderToken = token!.Token,
                ProviderTokenIssuedAt = DateTimeOffset.FromUnixTimeSeconds(token.IssuedAt),
                Body = body,
                BodyLength = bodyLength,
                ConnectionId = context.Connection.Id,
                ReceivedAt = _time.GetUtcNow(),
            });
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.Headers["apns-id"] = apnsId;
    }

    private Failure Validate(
        HttpRequest request,
        MockConnection? connection,
        out ProviderTokenInfo? token,
        out ReadOnlyMemory<char> deviceToken,
        out string? topic)
    {
        token = null;
        deviceToken = default;
        topic = null;

        if (!HttpMethods.IsPost(request.Method))
        {
            return new(StatusCodes.Status405MethodNotAllowed, ApnsReasons.MethodNotAllowed);
        }

        var path = request.Path.Value ?? "";
        if (path is "/3/device")
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.MissingDeviceToken);
        }

        if (!path.StartsWith(DevicePathPrefix, StringComparison.Ordinal))
        {
            return new(StatusCodes.Status404NotFound, ApnsReasons.BadPath);
        }

        deviceToken = path.AsMemory(DevicePathPrefix.Length);
        var headers = request.Headers;

        var tokenFailure = ValidateProviderToken(headers.Authorization, connection, out token);
        if (tokenFailure.Status != 0)
        {
            return tokenFailure;
        }

        var topicHeader = headers["apns-topic"];
        var pushType = headers["apns-push-type"];
        var priority = headers["apns-priority"];
        var expiration = headers["apns-expiration"];
        var apnsId = headers["apns-id"];
        var collapseId = headers["apns-collapse-id"];
        if (topicHeader.Count > 1 || pushType.Count > 1 || priority.Count > 1 || expiration.Count > 1 ||
            apnsId.Count > 1 || collapseId.Count > 1)
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.DuplicateHeaders);
        }

        topic = topicHeader.Count == 0 ? null : topicHeader[0];
        if (string.IsNullOrEmpty(topic))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.MissingTopic);
        }

        if (_topics is not null && !_topics.Contains(topic))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.TopicDisallowed);
        }

        if (pushType.Count == 0 || !IsKnownPushType(pushType[0]))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.InvalidPushType);
        }

        if (priority.Count == 1 && priority[0] is not ("10" or "5" or "1"))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.BadPriority);
        }

        if (expiration.Count == 1 &&
            !long.TryParse(expiration[0], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.BadExpirationDate);
        }

        if (apnsId.Count == 1 && !IsCanonicalUuid(apnsId[0]))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.BadMessageId);
        }

        if (collapseId.Count == 1 && Encoding.UTF8.GetByteCount(collapseId[0]!) > MaxCollapseIdBytes)
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.BadCollapseId);
        }

        if (deviceToken.IsEmpty)
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.MissingDeviceToken);
        }

        if (deviceToken.Length != DeviceTokenLength || deviceToken.Span.ContainsAnyExcept(HexDigits))
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.BadDeviceToken);
        }

        return default;
    }

    private Failure ValidateProviderToken(StringValues authorization, MockConnection? connection, out ProviderTokenInfo? token)
    {
        token = null;
        if (authorization.Count == 0 || string.IsNullOrWhiteSpace(authorization[0]))
        {
            return new(StatusCodes.Status403Forbidden, ApnsReasons.MissingProviderToken);
        }

        if (authorization.Count > 1)
        {
            return new(StatusCodes.Status400BadRequest, ApnsReasons.DuplicateHeaders);
        }

        var value = authorization[0].AsSpan().Trim();
        if (value.Equals("bearer", StringComparison.OrdinalIgnoreCase))
        {
            return new(StatusCodes.Status403Forbidden, ApnsReasons.MissingProviderToken);
        }

        if (!value.StartsWith("bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return new(StatusCodes.Status403Forbidden, ApnsReasons.InvalidProviderToken);
        }

        token = _tokens.Verify(value["bearer ".Length..].TrimStart());
        if (!token.IsValid)
        {
            return new(StatusCodes.Status403Forbidden, ApnsReasons.InvalidProviderToken);
        }

        if (_time.GetUtcNow().ToUnixTimeSeconds() - token.IssuedAt > MaxProviderTokenAgeSeconds)
        {
            return new(StatusCodes.Status403Forbidden, ApnsReasons.ExpiredProviderToken);
        }

        if (_options.EnforceTokenUpdateRate && connection is not null && !connection.TryUseProviderToken(token))
        {
            return new(StatusCodes.Status429TooManyRequests, ApnsReasons.TooManyProviderTokenUpdates);
        }

        return default;
    }

    private async Task<(Failure Failure, ReadOnlyMemory<byte> Body, int Length)> ReadBodyAsync(
        HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxPayloadBytes)
        {
            return (new(StatusCodes.Status413PayloadTooLarge, ApnsReasons.PayloadTooLarge), default, 0);
        }

        var reader = request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length > MaxPayloadBytes)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return (new(StatusCodes.Status413PayloadTooLarge, ApnsReasons.PayloadTooLarge), default, 0);
            }

            if (result.IsCompleted || result.IsCanceled)
            {
                var length = (int)buffer.Length;
                var body = _options.RecordNotifications && _options.RecordBodies && length > 0
                    ? buffer.ToArray()
                    : ReadOnlyMemory<byte>.Empty;
                reader.AdvanceTo(buffer.End);
                return length == 0
                    ? (new(StatusCodes.Status400BadRequest, ApnsReasons.PayloadEmpty), default, 0)
                    : (default, body, length);
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private Task RejectAsync(HttpContext context, string apnsId, int status, string reason, long? timestamp = null)
    {
        _statistics.Rejected(reason);
        var body = timestamp is null
            ? ErrorBodies.GetOrAdd(reason, static reason => ErrorBody(reason, null))
            : ErrorBody(reason, timestamp);

        var response = context.Response;
        response.StatusCode = status;
        response.Headers["apns-id"] = apnsId;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, 0, body.Length, context.RequestAborted);
    }

    private static byte[] ErrorBody(string reason, long? timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("reason", reason);
            if (timestamp is long milliseconds)
            {
                writer.WriteNumber("timestamp", milliseconds);
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void ResetStream(HttpContext context, int errorCode)
    {
        var reset = context.Features.Get<IHttpResetFeature>();
        if (reset is null)
        {
            context.Abort();
        }
        else
        {
            reset.Reset(errorCode);
        }
    }

    private static Dictionary<string, string> ApnsHeaders(IHeaderDictionary headers)
    {
        var apnsHeaders = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            if (name.StartsWith("apns-", StringComparison.OrdinalIgnoreCase))
            {
                apnsHeaders[name] = value.ToString();
            }
        }

        return apnsHeaders;
    }

    private static Dictionary<string, string> AllHeaders(IHeaderDictionary headers)
    {
        var all = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            all[name] = value.ToString();
        }

        return all;
    }

    private static bool IsKnownPushType(string? pushType) => pushType is
        "alert" or "background" or "location" or "voip" or "complication" or "fileprovider" or "mdm" or
        "liveactivity" or "pushtotalk" or "widgets";

    /// <summary>8-4-4-4-12 hexadecimal digits, nothing else (no braces, no whitespace).</summary>
    private static bool IsCanonicalUuid(string? value)
    {
        if (value is not { Length: 36 })
        {
            return false;
        }

        for (var i = 0; i < value.Length; i++)
        {
            var isHyphenPosition = i is 8 or 13 or 18 or 23;
            if (isHyphenPosition ? value[i] != '-' : !char.IsAsciiHexDigit(value[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string ToLowerInvariantIfNeeded(string value) =>
        value.AsSpan().ContainsAnyInRange('A', 'F') ? value.ToLowerInvariant() : value;

    private readonly record struct Failure(int Status, string Reason);
}
