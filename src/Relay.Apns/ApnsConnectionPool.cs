using System.Security.Cryptography.X509Certificates;

namespace Relay.Apns;

/// <summary>
/// A fixed number of long-lived connections to one endpoint. Requests go to the least-loaded connection; a
/// connection APNs or the network broke is replaced in its slot, once however many requests saw it break.
/// </summary>
internal sealed class ApnsConnectionPool : IDisposable
{
    private readonly ApnsOptions _options;
    private readonly X509Certificate2? _trustedCa;
    private readonly ApnsConnection[] _slots;
    private readonly Lock _replaceLock = new();
    private long _generation;
    private int _next;

    public ApnsConnectionPool(Uri endpoint, ApnsOptions options, X509Certificate2? trustedCa)
    {
        Endpoint = endpoint;
        DevicePathPrefix = new Uri(endpoint, ApnsHeaders.DevicePath).AbsoluteUri;
        _options = options;
        _trustedCa = trustedCa;
        _slots = new ApnsConnection[options.ConnectionsPerEndpoint];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new ApnsConnection(options, trustedCa, ++_generation);
        }
    }

    public Uri Endpoint { get; }

    /// <summary><c>{endpoint}/3/device/</c>: a request's URI is this and the device token.</summary>
    public string DevicePathPrefix { get; }

    public event Action? ConnectionReplaced;

    public async ValueTask<ApnsConnection> AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var connection = Pick();
            if (await connection.AcquireAsync(cancellationToken))
            {
                return connection;
            }
        }
    }

    /// <summary>Replaces <paramref name="broken"/> with a fresh connection unless another request already did.</summary>
    public void Replace(ApnsConnection broken)
    {
        lock (_replaceLock)
        {
            var slot = Array.IndexOf(_slots, broken);
            if (slot < 0)
            {
                return;
            }

            _slots[slot] = new ApnsConnection(_options, _trustedCa, ++_generation);
        }

        broken.Retire();
        ConnectionReplaced?.Invoke();

        // Requests still on the old connection finish or fail on their own deadline; close it after that.
        _ = DisposeLaterAsync(broken, _options.RequestTimeout + TimeSpan.FromSeconds(1));
    }

    public void Dispose()
    {
        lock (_replaceLock)
        {
            foreach (var connection in _slots)
            {
                connection.Retire();
                connection.Dispose();
            }
        }
    }

    private ApnsConnection Pick()
    {
        var slots = _slots;
        if (slots.Length == 1)
        {
            return Volatile.Read(ref slots[0]);
        }

        // Round-robin start, then take the one with the most free streams.
        var start = (int)((uint)Interlocked.Increment(ref _next) % (uint)slots.Length);
        var best = Volatile.Read(ref slots[start]);
        for (var i = 1; i < slots.Length; i++)
        {
            var candidate = Volatile.Read(ref slots[(start + i) % slots.Length]);
            if (candidate.Available > best.Available)
            {
                best = candidate;
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
}
