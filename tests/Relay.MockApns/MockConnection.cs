using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;

namespace Relay.MockApns;

/// <summary>What the mock remembers about one TCP connection (HTTP/2 connection).</summary>
internal sealed class MockConnection(ConnectionContext context)
{
    private const long MinimumTokenUpdateSeconds = 20 * 60;

    private readonly Lock _tokenLock = new();
    private int _unauthorizedStreams;
    private volatile bool _hasSucceeded;
    private volatile string? _lastToken;
    private long _lastIssuedAt;

    /// <summary>Whether a push with a valid provider token succeeded on this connection.</summary>
    public bool HasSucceeded => _hasSucceeded;

    public void MarkSucceeded()
    {
        if (!_hasSucceeded)
        {
            _hasSucceeded = true;
        }
    }

    /// <summary>Before the first success only one stream may be in flight.</summary>
    public bool TryEnterUnauthorizedStream()
    {
        if (Interlocked.Increment(ref _unauthorizedStreams) == 1)
        {
            return true;
        }

        Interlocked.Decrement(ref _unauthorizedStreams);
        return false;
    }

    public void ExitUnauthorizedStream() => Interlocked.Decrement(ref _unauthorizedStreams);

    /// <summary>False when the token replaces this connection's previous one less than 20 minutes (by iat) after it.</summary>
    public bool TryUseProviderToken(ProviderTokenInfo token)
    {
        if (ReferenceEquals(_lastToken, token.Token))
        {
            return true;
        }

        lock (_tokenLock)
        {
            if (_lastToken is not null && !string.Equals(_lastToken, token.Token, StringComparison.Ordinal) &&
                token.IssuedAt - _lastIssuedAt < MinimumTokenUpdateSeconds)
            {
                return false;
            }

            _lastIssuedAt = token.IssuedAt;
            _lastToken = token.Token;
            return true;
        }
    }

    /// <summary>Drops the TCP connection without any HTTP/2 frame.</summary>
    public void Abort() => context.Abort(new ConnectionAbortedException("MockApns: scripted connection reset."));

    /// <summary>Starts Kestrel's graceful close: GOAWAY now, the connection closes once its streams are done.</summary>
    public bool RequestClose()
    {
        var lifetime = context.Features.Get<IConnectionLifetimeNotificationFeature>();
        lifetime?.RequestClose();
        return lifetime is not null;
    }
}

/// <summary>Open connections by Kestrel connection id, filled by a connection middleware.</summary>
internal sealed class ConnectionRegistry(Statistics statistics, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, MockConnection> _connections = new(StringComparer.Ordinal);

    public MockConnection? Find(string connectionId) => _connections.GetValueOrDefault(connectionId);

    public ConnectionDelegate Middleware(ConnectionDelegate next) => async context =>
    {
        _connections[context.ConnectionId] = new MockConnection(context);
        statistics.ConnectionOpened(time.GetUtcNow());
        try
        {
            await next(context);
        }
        finally
        {
            _connections.TryRemove(context.ConnectionId, out _);
            statistics.ConnectionClosed();
        }
    };
}
