using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace Relay.Apns;

/// <summary>
/// A fixed number of long-lived connections to one endpoint. Requests go to the least-loaded connection. A
/// connection that failed, closed or that APNs asked to leave is retired from its slot, once however many requests
/// saw it go; the slot reconnects with backoff, so nothing a caller sends and nothing APNs does can make it churn.
/// </summary>
/// <remarks>
/// A slot connects again no sooner than <see cref="MinimumBackoff"/> after its last connection was made, doubling
/// for each connection in a row on which APNs accepted nothing, up to <see cref="MaximumBackoff"/>, as Pushy does.
/// While a slot waits, requests use the other slots, or wait for the first slot to come back within their deadline.
/// Backoff runs on the real clock: it protects APNs, whatever clock the caller's tokens use.
/// </remarks>
internal sealed partial class ApnsConnectionPool : IDisposable
{
    /// <summary>The shortest time between two connections of one slot.</summary>
    public static readonly TimeSpan MinimumBackoff = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait before a slot reconnects.</summary>
    public static readonly TimeSpan MaximumBackoff = TimeSpan.FromSeconds(60);

    private readonly ApnsOptions _options;
    private readonly X509Certificate2? _trustedCa;
    private readonly ILogger _logger;
    private readonly ApnsMetrics _metrics;
    private readonly Slot[] _slots;
    private readonly long _lifetimeTicks;
    private readonly Lock _lock = new();
    private int _next;
    private bool _disposed;

    public ApnsConnectionPool(ApnsEnvironment environment, Uri endpoint, ApnsOptions options, X509Certificate2? trustedCa,
        ILogger logger, ApnsMetrics metrics, TimeProvider timeProvider)
    {
        Environment = environment;
        Endpoint = new DnsEndPoint(endpoint.IdnHost, endpoint.Port);
        Authority = System.Text.Encoding.ASCII.GetBytes(endpoint.IsDefaultPort ? endpoint.IdnHost : endpoint.IdnHost + ":" + endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _options = options;
        _trustedCa = trustedCa;
        _logger = logger;
        _metrics = metrics;
        _lifetimeTicks = (long)(options.ConnectionLifetime.TotalSeconds * Stopwatch.Frequency);
        _slots = new Slot[options.ConnectionsPerEndpoint];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot(i);
        }

        Outages = new ApnsOutageWatch(environment, endpoint, timeProvider, logger);
    }

    public ApnsEnvironment Environment { get; }

    /// <summary>The host and port the connections go to.</summary>
    public DnsEndPoint Endpoint { get; }

    /// <summary>The <c>:authority</c> of every request: the host, and the port unless it is 443.</summary>
    public byte[] Authority { get; }

    /// <summary>Counts this pool's sends and logs once when too many fail.</summary>
    public ApnsOutageWatch Outages { get; }

    /// <summary>A connection with a free stream, waiting for one (or for a slot's backoff) within the token.</summary>
    public async ValueTask<ApnsConnection> AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var connection = Pick(out var wait);
            if (connection is null)
            {
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
            else if (await connection.AcquireAsync(cancellationToken).ConfigureAwait(false))
            {
                return connection;
            }
        }
    }

    /// <summary>
    /// Takes <paramref name="connection"/> out of its slot, unless it already left, and starts the slot's backoff.
    /// </summary>
    public void Retire(ApnsConnection connection, string cause)
    {
        TimeSpan wait;
        int slotIndex;
        lock (_lock)
        {
            var slot = Array.Find(_slots, s => ReferenceEquals(s.Connection, connection));
            if (slot is null)
            {
                return;
            }

            slot.Connection = null;
            slot.FailuresInARow = connection.HasAccepted ? 0 : slot.FailuresInARow + 1;
            var backoff = Backoff(slot.FailuresInARow);
            Volatile.Write(ref slot.NotBefore, connection.CreatedAt + (long)(backoff.TotalSeconds * Stopwatch.Frequency));
            wait = TimeSpan.FromSeconds(Math.Max(0, slot.NotBefore - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency);
            slotIndex = slot.Index;
        }

        connection.Retire();
        _metrics.ConnectionReplaced();
        LogRetired(_logger, Environment, slotIndex, cause, connection.HasAccepted, wait);

        // Requests still on the old connection finish or fail on their own deadline; close it after that.
        _ = DisposeLaterAsync(connection, _options.RequestTimeout + TimeSpan.FromSeconds(1));
    }

    /// <summary>Called when a connection's TCP connect succeeded.</summary>
    public void ConnectionOpened() => _metrics.ConnectionOpened();

    public void Dispose()
    {
        var connections = new List<ApnsConnection>();
        lock (_lock)
        {
            _disposed = true;
            foreach (var slot in _slots)
            {
                if (slot.Connection is { } connection)
                {
                    connections.Add(connection);
                    slot.Connection = null;
                }
            }
        }

        foreach (var connection in connections)
        {
            connection.Retire();
            connection.Dispose();
        }
    }

    /// <summary>The wait before reconnecting after <paramref name="failuresInARow"/> connections that APNs accepted nothing on.</summary>
    internal static TimeSpan Backoff(int failuresInARow) =>
        failuresInARow <= 1 ? MinimumBackoff
        : TimeSpan.FromTicks(Math.Min(MaximumBackoff.Ticks, MinimumBackoff.Ticks << Math.Min(failuresInARow - 1, 16)));

    private ApnsConnection? Pick(out TimeSpan wait)
    {
        var now = Stopwatch.GetTimestamp();
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)_slots.Length);
        ApnsConnection? best = null;
        var mayConnect = false;
        var soonest = long.MaxValue;
        for (var i = 0; i < _slots.Length; i++)
        {
            var slot = _slots[(start + i) % _slots.Length];
            var candidate = Volatile.Read(ref slot.Connection);
            if (candidate is not null && !candidate.IsRetired && now - candidate.CreatedAt > _lifetimeTicks)
            {
                // Bounded lifetime, so DNS is looked up again now and then; it had successes, so no backoff to speak of.
                Retire(candidate, "its lifetime ended");
                candidate = null;
            }

            if (candidate is not null && !candidate.IsRetired)
            {
                best = best is null || candidate.Available > best.Available ? candidate : best;
            }
            else
            {
                // An empty slot: connect if its backoff is over (checked again under the lock), else note when it is.
                var notBefore = Volatile.Read(ref slot.NotBefore);
                mayConnect |= notBefore <= now;
                soonest = notBefore > now ? Math.Min(soonest, notBefore) : soonest;
            }
        }

        if (mayConnect)
        {
            best = Connect(best, now);
        }

        // Every slot is backing off: wait for the first to come back (a retired connection leaves its slot at once).
        wait = best is not null ? default
            : soonest == long.MaxValue ? TimeSpan.FromMilliseconds(1)
            : TimeSpan.FromSeconds((soonest - now) / (double)Stopwatch.Frequency) + TimeSpan.FromMilliseconds(1);
        return best;
    }

    /// <summary>Fills the empty slots whose backoff is over; the best connection of the pool then.</summary>
    private ApnsConnection? Connect(ApnsConnection? best, long now)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var slot in _slots)
            {
                var connection = slot.Connection;
                if (connection is null && slot.NotBefore <= now)
                {
                    connection = new ApnsConnection(this, _options, Endpoint, _trustedCa);
                    Volatile.Write(ref slot.Connection, connection);
                }

                if (connection is { IsRetired: false } && (best is null || connection.Available > best.Available))
                {
                    best = connection;
                }
            }
        }

        return best;
    }

    private static async Task DisposeLaterAsync(ApnsConnection connection, TimeSpan delay)
    {
        await Task.Delay(delay).ConfigureAwait(false);
        while (connection.InFlight > 0)
        {
            await Task.Delay(TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }

        connection.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "APNs {Environment} connection {Slot} retired: {Cause} (accepted pushes: {HadAccepted}); reconnecting in {Backoff}")]
    private static partial void LogRetired(ILogger logger, ApnsEnvironment environment, int slot, string cause, bool hadAccepted, TimeSpan backoff);

    private sealed class Slot(int index)
    {
        public readonly int Index = index;
        public ApnsConnection? Connection;
        public long NotBefore;
        public int FailuresInARow;
    }
}
