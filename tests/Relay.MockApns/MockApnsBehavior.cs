namespace Relay.MockApns;

/// <summary>What a <see cref="MockApnsBehavior"/> does with a request that passed validation.</summary>
public enum MockApnsBehaviorKind
{
    /// <summary>Answer 200 (after <see cref="MockApnsBehavior.DelayBefore"/>).</summary>
    Accept,
    /// <summary>Answer with <see cref="MockApnsBehavior.Status"/> and <see cref="MockApnsBehavior.Reason"/>.</summary>
    Reject,
    /// <summary>Abort the whole TCP connection without any HTTP/2 frame.</summary>
    ResetConnection,
    /// <summary>Reset only this stream (RST_STREAM with <see cref="MockApnsBehavior.ErrorCode"/>), no response.</summary>
    ResetStream,
    /// <summary>Start a graceful connection close (the client receives GOAWAY), then answer 200.</summary>
    GoAway,
}

/// <summary>Global faults for <see cref="MockApnsServer.InjectFaultEvery(int, MockApnsFault)"/>.</summary>
public enum MockApnsFault
{
    /// <summary>Abort the TCP connection the request arrived on.</summary>
    ResetConnection,
    /// <summary>Send GOAWAY on the connection, answer the request 200.</summary>
    GoAway,
    /// <summary>RST_STREAM REFUSED_STREAM (0x7), no response.</summary>
    RefuseStream,
    /// <summary>500 InternalServerError.</summary>
    InternalServerError,
    /// <summary>503 ServiceUnavailable.</summary>
    ServiceUnavailable,
    /// <summary>503 Shutdown.</summary>
    Shutdown,
    /// <summary>429 TooManyRequests.</summary>
    TooManyRequests,
}

/// <summary>
/// A scripted answer of the mock for one device token (<see cref="MockApnsServer.Script"/>) or for every n-th request
/// (<see cref="MockApnsServer.InjectFaultEvery(int, MockApnsBehavior)"/>). Scripts apply only to requests that are
/// otherwise valid: a malformed request is still rejected the way APNs would.
/// </summary>
public sealed record MockApnsBehavior
{
    /// <summary>HTTP/2 error code REFUSED_STREAM: the server did not process the stream, the client may retry it.</summary>
    public const int RefusedStreamErrorCode = 0x7;

    private MockApnsBehavior(MockApnsBehaviorKind kind) => Kind = kind;

    /// <summary>What the behaviour does.</summary>
    public MockApnsBehaviorKind Kind { get; }

    /// <summary>The HTTP status of a <see cref="MockApnsBehaviorKind.Reject"/>.</summary>
    public int Status { get; private init; }

    /// <summary>The <c>reason</c> of a <see cref="MockApnsBehaviorKind.Reject"/>.</summary>
    public string? Reason { get; private init; }

    /// <summary>The <c>timestamp</c> (ms since the epoch) of a rejection; a 410 without one gets the current time.</summary>
    public long? Timestamp { get; private init; }

    /// <summary>The HTTP/2 error code of a <see cref="MockApnsBehaviorKind.ResetStream"/>.</summary>
    public int ErrorCode { get; private init; } = RefusedStreamErrorCode;

    /// <summary>How long the mock waits before doing anything else.</summary>
    public TimeSpan DelayBefore { get; private init; }

    /// <summary>The <c>retry-after</c> header value a <see cref="MockApnsBehaviorKind.Reject"/> carries; null sends none.</summary>
    public string? RetryAfter { get; private init; }

    /// <summary>How many requests the behaviour applies to before the token is answered normally again; null = forever.</summary>
    public int? MaxRequests { get; private init; }

    /// <summary>Answer 200.</summary>
    public static MockApnsBehavior Accept { get; } = new(MockApnsBehaviorKind.Accept);

    /// <summary>Abort the TCP connection abruptly.</summary>
    public static MockApnsBehavior ResetConnection { get; } = new(MockApnsBehaviorKind.ResetConnection);

    /// <summary>Send GOAWAY (graceful close) and answer this request 200.</summary>
    public static MockApnsBehavior GoAway { get; } = new(MockApnsBehaviorKind.GoAway);

    /// <summary>RST_STREAM REFUSED_STREAM without a response.</summary>
    public static MockApnsBehavior RefuseStream { get; } = new(MockApnsBehaviorKind.ResetStream);

    /// <summary>400 BadDeviceToken.</summary>
    public static MockApnsBehavior BadDeviceToken => Reject(400, ApnsReasons.BadDeviceToken);

    /// <summary>400 DeviceTokenNotForTopic.</summary>
    public static MockApnsBehavior DeviceTokenNotForTopic => Reject(400, ApnsReasons.DeviceTokenNotForTopic);

    /// <summary>400 IdleTimeout.</summary>
    public static MockApnsBehavior IdleTimeout => Reject(400, ApnsReasons.IdleTimeout);

    /// <summary>403 ExpiredProviderToken, whatever the token.</summary>
    public static MockApnsBehavior ExpiredProviderToken => Reject(403, ApnsReasons.ExpiredProviderToken);

    /// <summary>429 TooManyRequests.</summary>
    public static MockApnsBehavior TooManyRequests => Reject(429, ApnsReasons.TooManyRequests);

    /// <summary>500 InternalServerError.</summary>
    public static MockApnsBehavior InternalServerError => Reject(500, ApnsReasons.InternalServerError);

    /// <summary>503 ServiceUnavailable.</summary>
    public static MockApnsBehavior ServiceUnavailable => Reject(503, ApnsReasons.ServiceUnavailable);

    /// <summary>Answer with an error status and reason.</summary>
    /// <param name="status">An HTTP status from 400 to 599.</param>
    /// <param name="reason">Apple's reason string, see <see cref="ApnsReasons"/>.</param>
    /// <param name="timestamp">Milliseconds since the epoch, sent as <c>timestamp</c> (410 gets "now" when null).</param>
    public static MockApnsBehavior Reject(int status, string reason, long? timestamp = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(status, 400);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(status, 599);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return new(MockApnsBehaviorKind.Reject) { Status = status, Reason = reason, Timestamp = timestamp };
    }

    /// <summary>410 Unregistered with the time the token became invalid (now when null).</summary>
    public static MockApnsBehavior Unregistered(DateTimeOffset? since = null) =>
        Reject(410, ApnsReasons.Unregistered, since?.ToUnixTimeMilliseconds());

    /// <summary>Wait, then answer 200.</summary>
    public static MockApnsBehavior Delay(TimeSpan delay) => Accept.WithDelay(delay);

    /// <summary>RST_STREAM with the given HTTP/2 error code, no response.</summary>
    public static MockApnsBehavior ResetStream(int errorCode)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(errorCode);
        return new(MockApnsBehaviorKind.ResetStream) { ErrorCode = errorCode };
    }

    /// <summary>The same behaviour, after waiting <paramref name="delay"/>.</summary>
    public MockApnsBehavior WithDelay(TimeSpan delay)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        return this with { DelayBefore = delay };
    }

    /// <summary>The same rejection with a <c>retry-after</c> header, sent as given (seconds, an HTTP date, or anything).</summary>
    public MockApnsBehavior WithRetryAfter(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return this with { RetryAfter = value };
    }

    /// <summary>The same behaviour for the next <paramref name="count"/> requests only ("fail twice, then accept").</summary>
    public MockApnsBehavior Times(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        return this with { MaxRequests = count };
    }

    /// <summary>The behaviour a <see cref="MockApnsFault"/> stands for.</summary>
    public static MockApnsBehavior For(MockApnsFault fault) => fault switch
    {
        MockApnsFault.ResetConnection => ResetConnection,
        MockApnsFault.GoAway => GoAway,
        MockApnsFault.RefuseStream => RefuseStream,
        MockApnsFault.InternalServerError => InternalServerError,
        MockApnsFault.ServiceUnavailable => ServiceUnavailable,
        MockApnsFault.Shutdown => Reject(503, ApnsReasons.Shutdown),
        MockApnsFault.TooManyRequests => TooManyRequests,
        _ => throw new ArgumentOutOfRangeException(nameof(fault), fault, "Unknown fault."),
    };
}
