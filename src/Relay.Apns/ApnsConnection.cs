using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Relay.Apns.Http2;

namespace Relay.Apns;

/// <summary>
/// One long-lived HTTP/2 connection to one APNs endpoint, with our own cap on the streams in flight. A new
/// connection starts with a single stream allowed, as APNs does, and opens up to the full cap once APNs has accepted
/// a notification on it; so a cold burst never has its streams refused.
/// </summary>
/// <remarks>
/// One instance is one TCP connection, made when the first request needs it and never made again: when it closes
/// (GOAWAY, reset, a failed PING) this instance is retired, so that only the pool opens connections, and only with
/// backoff.
/// </remarks>
internal sealed class ApnsConnection : IDisposable
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(20);

    private readonly SemaphoreSlim _streams;
    private readonly int _maxStreams;
    private readonly ApnsConnectionPool _pool;
    private readonly ApnsOptions _options;
    private readonly DnsEndPoint _endpoint;
    private readonly X509Certificate2? _trustedCa;
    private Task<Http2Connection>? _connection;
    private int _opened;
    private int _inFlight;
    private volatile bool _retired;

    public ApnsConnection(ApnsConnectionPool pool, ApnsOptions options, DnsEndPoint endpoint, X509Certificate2? trustedCa)
    {
        _pool = pool;
        _options = options;
        _endpoint = endpoint;
        _trustedCa = trustedCa;
        _maxStreams = options.MaxConcurrentStreamsPerConnection;
        _streams = new SemaphoreSlim(1, int.MaxValue);
        CreatedAt = Stopwatch.GetTimestamp();
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

    /// <summary>Sends the request on this connection, connecting first if it is the first one.</summary>
    public ValueTask SendAsync(Http2Stream stream, CancellationToken cancellationToken)
    {
        // Once connected, straight to the connection: no state machine of our own on every send.
        var connecting = Volatile.Read(ref _connection) ?? StartConnecting();
        return connecting.IsCompletedSuccessfully
            ? connecting.Result.SendAsync(stream, cancellationToken)
            : SendAfterConnectingAsync(connecting, stream, cancellationToken);
    }

    private static async ValueTask SendAfterConnectingAsync(Task<Http2Connection> connecting, Http2Stream stream, CancellationToken cancellationToken)
    {
        var connection = await connecting.WaitAsync(cancellationToken).ConfigureAwait(false);
        await connection.SendAsync(stream, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>APNs accepted a notification here: the connection may now carry the full number of streams.</summary>
    public void MarkAccepted()
    {
        if (Volatile.Read(ref _opened) == 0 && Interlocked.Exchange(ref _opened, 1) == 0)
        {
            _streams.Release(_maxStreams - 1);
        }
    }

    /// <summary>What a failed send says about this connection, from the exception it threw.</summary>
    public static SendFailure Classify(Exception failure)
    {
        for (var e = failure; e is not null; e = e.InnerException)
        {
            if (e is Http2NotSentException)
            {
                return SendFailure.NotSent;
            }
        }

        return failure switch
        {
            // Thrown before anything was written: a header value that HTTP/2 cannot carry.
            HttpRequestException { HttpRequestError: HttpRequestError.Unknown, InnerException: null } => SendFailure.InvalidRequest,

            // RST_STREAM from APNs, or a stream error of ours; the connection is fine.
            HttpProtocolException => SendFailure.Stream,
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
    public void Dispose()
    {
        var connecting = Interlocked.CompareExchange(ref _connection, Task.FromCanceled<Http2Connection>(new CancellationToken(canceled: true)), null);
        connecting?.ContinueWith(static task => task.Result.DisposeAsync().AsTask(),
            CancellationToken.None, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);
    }

    private Task<Http2Connection> StartConnecting()
    {
        var connecting = new TaskCompletionSource<Http2Connection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var existing = Interlocked.CompareExchange(ref _connection, connecting.Task, null);
        if (existing is not null)
        {
            return existing;
        }

        _ = ConnectAsync(connecting);
        return connecting.Task;
    }

    private async Task ConnectAsync(TaskCompletionSource<Http2Connection> connecting)
    {
        try
        {
            var validate = _trustedCa is { } ca
                ? (RemoteCertificateValidationCallback)((_, certificate, _, errors) => ValidateWithExtraCa(certificate, errors, ca))
                : null;
            var connection = await Http2Connection.ConnectAsync(_endpoint, validate, _options.ConnectTimeout, _options.PingInterval, PingTimeout,
                cause => _pool.Retire(this, cause), CancellationToken.None).ConfigureAwait(false);
            _pool.ConnectionOpened();
            connecting.SetResult(connection);
        }
        catch (Exception e)
        {
            connecting.SetException(e);
        }
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
}

/// <summary>What a send that got no answer means for the connection it used.</summary>
internal enum SendFailure
{
    /// <summary>The request never left: the connection was closing or gone, or APNs's GOAWAY says it did not process it. Re-send elsewhere.</summary>
    NotSent,

    /// <summary>The request cannot be sent as built: the caller's defect; keep the connection.</summary>
    InvalidRequest,

    /// <summary>Only this stream failed; the connection stays.</summary>
    Stream,

    /// <summary>The connection failed: replace it, with backoff.</summary>
    Connection,
}
