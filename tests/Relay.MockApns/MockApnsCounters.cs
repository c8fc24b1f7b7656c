namespace Relay.MockApns;

/// <summary>A snapshot of the mock's counters since it started or was last cleared.</summary>
public sealed record MockApnsCounters
{
    /// <summary>Requests that reached the APNs endpoint (streams refused by the one-stream rule excluded).</summary>
    public long Requests { get; init; }

    /// <summary>Notifications answered 200.</summary>
    public long Accepted { get; init; }

    /// <summary>Requests answered with an error status.</summary>
    public long Rejected { get; init; }

    /// <summary>Rejections by reason.</summary>
    public IReadOnlyDictionary<string, long> RejectedByReason { get; init; } = new Dictionary<string, long>();

    /// <summary>
    /// Requests (every one that reached the APNs endpoint, whatever the answer) by header name, lower-case: a header a
    /// client must never send, such as <c>traceparent</c>, shows here even on a rejected request.
    /// </summary>
    public IReadOnlyDictionary<string, long> RequestsByHeader { get; init; } = new Dictionary<string, long>();

    /// <summary>When each TCP connection was accepted, oldest first, by <see cref="MockApnsOptions.TimeProvider"/>.</summary>
    public IReadOnlyList<DateTimeOffset> ConnectionOpenTimes { get; init; } = [];

    /// <summary>Streams refused (RST_STREAM REFUSED_STREAM) by the one-stream rule.</summary>
    public long RefusedStreams { get; init; }

    /// <summary>Streams reset by a script or fault.</summary>
    public long StreamsReset { get; init; }

    /// <summary>TCP connections accepted.</summary>
    public long ConnectionsOpened { get; init; }

    /// <summary>TCP connections open now.</summary>
    public long ActiveConnections { get; init; }

    /// <summary>Connections aborted by a script or fault.</summary>
    public long ConnectionsReset { get; init; }

    /// <summary>Graceful closes (GOAWAY) started by a script or fault.</summary>
    public long GoAwaysSent { get; init; }

    /// <summary>Distinct provider token strings seen.</summary>
    public long DistinctProviderTokens { get; init; }

    /// <summary>Provider token signature verifications done (about one per distinct token).</summary>
    public long TokenVerifications { get; init; }

    /// <summary>How many requests carried the header <paramref name="name"/> (any case).</summary>
    public long RequestsWith(string name) => RequestsByHeader.GetValueOrDefault(name.ToLowerInvariant());

    /// <summary>How many requests were rejected with <paramref name="reason"/>.</summary>
    public long RejectedFor(string reason) => RejectedByReason.GetValueOrDefault(reason);
}
