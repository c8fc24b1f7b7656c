using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;

namespace Relay.Apns;

/// <summary>
/// One long-lived HTTP/2 connection to one APNs endpoint, with our own cap on the streams in flight. A new
/// connection starts with a single stream allowed, as APNs does, and opens up to the full cap once APNs has accepted
/// a notification on it; so a cold burst never has its streams refused.
/// </summary>
/// <remarks>
/// One instance is one TCP connection. The handler would reconnect on its own after a reset or a GOAWAY, as often
/// as requests come; here its connect callback lets it connect once, and any later attempt retires this instance
/// instead, so that only the pool opens connections, and only with backoff. The transport is watched, so a
/// connection APNs closed is retired at once rather than on the next request.
/// </remarks>
internal sealed class ApnsConnection : IDisposable
{
    private readonly HttpMessageInvoker _invoker;
    private readonly SemaphoreSlim _streams;
    private readonly int _maxStreams;
    private readonly ApnsConnectionPool _pool;
    private int _opened;
    private int _inFlight;
    private int _connects;
    private volatile bool _retired;
    private volatile bool _transportClosed;

    public ApnsConnection(ApnsConnectionPool pool, ApnsOptions options, X509Certificate2? trustedCa)
    {
        _pool = pool;
        _maxStreams = options.MaxConcurrentStreamsPerConnection;
        _streams = new SemaphoreSlim(1, int.MaxValue);
        CreatedAt = Stopwatch.GetTimestamp();
        var handler = new SocketsHttpHandler
        {
            // One TCP connection per handler, and only through ConnectAsync: the pool decides how many exist.
            EnableMultipleHttp2Connections = false,
            MaxConnectionsPerServer = 1,
            ConnectCallback = ConnectAsync,
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

            // The client's spans (when traced) and metrics stay, but no traceparent, tracestate or baggage goes to Apple.
            ActivityHeadersPropagator = ApnsConnectionPool.TracingPropagator(),
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

    /// <summary>When the connection was made (a <see cref="Stopwatch"/> timestamp): backoff counts from here.</summary>
    public long CreatedAt { get; }

    /// <summary>Whether APNs accepted a notification on this connection.</summary>
    public bool HasAccepted => Volatile.Read(ref _opened) != 0;

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

    /// <summary>What a failed send says about this connection, from the exception the handler threw.</summary>
    public SendFailure Classify(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is ConnectionRetiredException)
            {
                return SendFailure.NotSent;
            }
        }

        return failure switch
        {
            // Thrown before anything was written, e.g. "Request headers must contain only ASCII characters".
            HttpRequestException { HttpRequestError: HttpRequestError.Unknown, InnerException: null } => SendFailure.InvalidRequest,
            HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError
                or HttpRequestError.NameResolutionError } => SendFailure.Connection,
            _ when _transportClosed => SendFailure.Connection,

            // RST_STREAM (REFUSED_STREAM included, once the handler's own retries are spent). A GOAWAY carries the
            // same exception type, but then the transport closes: ConnectAsync or the stream watcher retires us.
            HttpRequestException { InnerException: HttpProtocolException } or HttpProtocolException => SendFailure.Stream,
            HttpRequestException { HttpRequestError: HttpRequestError.ConfigurationLimitExceeded } => SendFailure.Stream,
            _ => SendFailure.Connection,
        };
    }

    /// <summary>Stops new requests from taking this connection; waiters wake up and move to another.</summary>
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

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _connects) > 1 || _retired)
        {
            // The handler wants another TCP connection: the first is gone (GOAWAY, reset, lifetime). A new one is
            // the pool's to make, after its backoff; this one retires and the request is re-sent there.
            TransportClosed("the handler needed a new connection");
            throw new ConnectionRetiredException();
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _pool.ConnectionOpened();
        return new WatchedStream(new NetworkStream(socket, ownsSocket: true), this);
    }

    private void TransportClosed(string cause)
    {
        _transportClosed = true;
        _pool.Retire(this, cause);
    }

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

    /// <summary>Thrown by the connect callback when this connection may not reconnect; never leaves the client.</summary>
    private sealed class ConnectionRetiredException() : IOException("The APNs connection was retired; the request goes to another.");

    /// <summary>The TCP stream, telling its connection when APNs closed it or it broke.</summary>
    private sealed class WatchedStream(NetworkStream inner, ApnsConnection connection) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);

                // The handler also reads zero bytes on purpose, to wait for data without a buffer.
                if (read == 0 && !buffer.IsEmpty)
                {
                    connection.TransportClosed("APNs closed the connection");
                }

                return read;
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException)
            {
                connection.TransportClosed("the connection broke");
                throw;
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                connection.TransportClosed("the connection was closed");
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}

/// <summary>What a send that got no answer means for the connection it used.</summary>
internal enum SendFailure
{
    /// <summary>The request never left: the connection was retired as it tried to reconnect. Re-send elsewhere.</summary>
    NotSent,

    /// <summary>The handler refused the request as built: the caller's defect; keep the connection.</summary>
    InvalidRequest,

    /// <summary>Only this stream failed; the connection stays.</summary>
    Stream,

    /// <summary>The connection failed: replace it, with backoff.</summary>
    Connection,
}
