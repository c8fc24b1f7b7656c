using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Relay.MockApns;

/// <summary>Lock-free counters behind <see cref="MockApnsCounters"/>.</summary>
internal sealed class Statistics
{
    private readonly ConcurrentDictionary<string, StrongBox<long>> _rejectedByReason = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StrongBox<long>> _byHeader = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentQueue<DateTimeOffset> _connectionTimes = new();
    private long _requests;
    private long _accepted;
    private long _rejected;
    private long _refusedStreams;
    private long _streamsReset;
    private long _connectionsOpened;
    private long _activeConnections;
    private long _connectionsReset;
    private long _goAways;
    private long _distinctTokens;
    private long _tokenVerifications;

    public void Request(IHeaderDictionary headers)
    {
        Interlocked.Increment(ref _requests);
        foreach (var name in headers.Keys)
        {
            var box = _byHeader.GetOrAdd(name, static _ => new StrongBox<long>());
            Interlocked.Increment(ref box.Value);
        }
    }
    public void Accepted() => Interlocked.Increment(ref _accepted);
    public void StreamRefused() => Interlocked.Increment(ref _refusedStreams);
    public void StreamReset() => Interlocked.Increment(ref _streamsReset);
    public void ConnectionReset() => Interlocked.Increment(ref _connectionsReset);
    public void GoAwaySent() => Interlocked.Increment(ref _goAways);
    public void DistinctTokenSeen() => Interlocked.Increment(ref _distinctTokens);
    public void TokenVerified() => Interlocked.Increment(ref _tokenVerifications);

    public void ConnectionOpened(DateTimeOffset at)
    {
        _connectionTimes.Enqueue(at);
        Interlocked.Increment(ref _connectionsOpened);
        Interlocked.Increment(ref _activeConnections);
    }

    public void ConnectionClosed() => Interlocked.Decrement(ref _activeConnections);

    public void Rejected(string reason)
    {
        Interlocked.Increment(ref _rejected);
        var box = _rejectedByReason.GetOrAdd(reason, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    public MockApnsCounters Snapshot() => new()
    {
        Requests = Volatile.Read(ref _requests),
        Accepted = Volatile.Read(ref _accepted),
        Rejected = Volatile.Read(ref _rejected),
        RejectedByReason = _rejectedByReason
            .Where(pair => Volatile.Read(ref pair.Value.Value) > 0)
            .ToDictionary(pair => pair.Key, pair => Volatile.Read(ref pair.Value.Value), StringComparer.Ordinal),
        RequestsByHeader = _byHeader
            .Where(pair => Volatile.Read(ref pair.Value.Value) > 0)
            .ToDictionary(pair => pair.Key.ToLowerInvariant(), pair => Volatile.Read(ref pair.Value.Value), StringComparer.OrdinalIgnoreCase),
        ConnectionOpenTimes = [.. _connectionTimes],
        RefusedStreams = Volatile.Read(ref _refusedStreams),
        StreamsReset = Volatile.Read(ref _streamsReset),
        ConnectionsOpened = Volatile.Read(ref _connectionsOpened),
        ActiveConnections = Volatile.Read(ref _activeConnections),
        ConnectionsReset = Volatile.Read(ref _connectionsReset),
        GoAwaysSent = Volatile.Read(ref _goAways),
        DistinctProviderTokens = Volatile.Read(ref _distinctTokens),
        TokenVerifications = Volatile.Read(ref _tokenVerifications),
    };

    /// <summary>Zeroes every counter except the number of open connections, which stays true.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _requests, 0);
        Interlocked.Exchange(ref _accepted, 0);
        Interlocked.Exchange(ref _rejected, 0);
        Interlocked.Exchange(ref _refusedStreams, 0);
        Interlocked.Exchange(ref _streamsReset, 0);
        Interlocked.Exchange(ref _connectionsOpened, 0);
        Interlocked.Exchange(ref _connectionsReset, 0);
        Interlocked.Exchange(ref _goAways, 0);
        Interlocked.Exchange(ref _distinctTokens, 0);
        Interlocked.Exchange(ref _tokenVerifications, 0);
        foreach (var box in _rejectedByReason.Values.Concat(_byHeader.Values))
        {
            Interlocked.Exchange(ref box.Value, 0);
        }

        _connectionTimes.Clear();
    }
}
