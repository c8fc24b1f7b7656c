using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Apns;

/// <summary>
/// One long-lived HTTP/2 connection to one APNs endpoint, with our own cap on the streams in flight. A new
/// connection starts with a single stream allowed, as APNs does, and opens up to the full cap once APNs has accepted
/// a notification on it; so a cold burst never has its streams refused.
/// </summary>
internal sealed class ApnsConnection : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly SemaphoreSlim _streams;
    private readonly int _maxStreams;
    private int _opened;
    private int _inFlight;
    private volatile bool _retired;

    public ApnsConnection(ApnsOptions options, X509Certificate2? trustedCa, long generation)
    {
        _maxStreams = options.MaxConcurrentStreamsPerConnection;
        _streams = new SemaphoreSlim(1, int.MaxValue);
        Generation = generation;
        var handler = new SocketsHttpHandler
        {
            // One TCP connection per handler: the pool above decides how many connections exist.
            EnableMultipleHttp2Connections = false,
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            PooledConnectionLifetime = options.ConnectionLifetime,
            ConnectTimeout = options.ConnectTimeout,
            KeepAlivePingDelay = options.PingInterval,
            KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            InitialHttp2StreamWindowSize = 1024 * 1024,
        };
        if (trustedCa is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    ValidateWithExtraCa(certificate, errors, trustedCa),
            };
        }

        _invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    /// <summary>Counts replacements of a pool slot, so many failures of one connection replace it only once.</summary>
    public long Generation { get; }

    public bool IsRetired => _retired;

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Free stream permits right now (a hint for choosing the least-loaded connection).</summary>
    public int Available => _streams.CurrentCount;

    public async ValueTask<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        await _streams.WaitAsync(cancellationToken);
        if (_retired)
        {
            _streams.Release();
            return false;
        }

        Interlocked.Increment(ref _inFlight);
        return true;
    }

    public void Release()
    {
        Interlocked.Decrement(ref _inFlight);
        _streams.Release();
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker.SendAsync(request, cancellationToken);

    /// <summary>APNs accepted a notification here: the connection may now carry the full number of streams.</summary>
    public void MarkAccepted()
    {
        if (Volatile.Read(ref _opened) == 0 && Interlocked.Exchange(ref _opened, 1) == 0)
        {
            _streams.Release(_maxStreams - 1);
        }
    }

    /// <summary>Stops new requests from taking this connection; waiters wake up and move to the replacement.</summary>
    public void Retire()
    {
        if (_retired)
        {
            return;
        }

        _retired = true;
        _streams.Release(_maxStreams);
    }

    // The semaphore is left to the GC: a late waiter on a retired connection must still be able to release it.
    public void Dispose() => _invoker.Dispose();

    private static bool ValidateWithExtraCa(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2 trustedCa)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(trustedCa);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
