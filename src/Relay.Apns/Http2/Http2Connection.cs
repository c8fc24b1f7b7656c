using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Relay.Apns.Http2;

/// <summary>
/// A client HTTP/2 connection (RFC 9113) over TLS, as small as APNs needs: requests with a short header block and a
/// body of a few kilobytes, answered by a status, a few headers and at most a small body.
/// </summary>
/// <remarks>
/// <para>
/// Requests write their frames into one buffer under the connection's lock, which keeps stream ids in order; one
/// writer at a time sends what accumulated, so frames of concurrent requests go out together in few TLS records.
/// One reader decodes the peer's frames and completes the streams.
/// </para>
/// <para>
/// Flow control is kept both ways: a request's DATA waits for the peer's connection and stream windows, and the
/// peer gets a large window that is topped up as it is used. The peer's SETTINGS_MAX_CONCURRENT_STREAMS is obeyed by
/// queueing requests beyond it. A GOAWAY fails the streams above its last stream id as not sent; the rest finish.
/// </para>
/// </remarks>
internal sealed class Http2Connection : IAsyncDisposable
{
    /// <summary>The connection window the peer gets (the stream windows are the initial window size below).</summary>
    private const int ReceiveConnectionWindow = 16 * 1024 * 1024;

    private const int ReceiveStreamWindow = 1024 * 1024;

    /// <summary>The most header block bytes one response may carry (all its fragments).</summary>
    private const int MaxHeaderBlockBytes = 64 * 1024;

    private readonly Stream _transport;
    private readonly Action<string> _closed;
    private readonly TimeSpan _pingInterval;
    private readonly TimeSpan _pingTimeout;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Http2Stream> _streams = [];
    private readonly Queue<Http2Stream> _waitingToOpen = new();
    private readonly Queue<Http2Stream> _blocked = new();
    private readonly HpackDecoder _decoder = new();
    private readonly Timer _pingTimer;
    private byte[] _output = new byte[16 * 1024];
    private byte[]? _spareOutput = new byte[16 * 1024];
    private int _outputLength;
    private bool _writing;
    private int _nextStreamId = 1;
    private int _peerMaxStreams = int.MaxValue;
    private int _peerInitialWindow = Http2Frames.DefaultWindowSize;
    private int _peerMaxFrameSize = Http2Frames.DefaultMaxFrameSize;
    private long _connectionSendWindow = Http2Frames.DefaultWindowSize;
    private int _receivedSinceUpdate;
    private bool _goingAway;
    private bool _closing;
    private bool _pingOutstanding;
    private int _closedOnce;
    private Task? _reader;

    private Http2Connection(Stream transport, Action<string> closed, TimeSpan pingInterval, TimeSpan pingTimeout)
    {
        _transport = transport;
        _closed = closed;
        _pingInterval = pingInterval;
        _pingTimeout = pingTimeout;
        _pingTimer = new Timer(static state => ((Http2Connection)state!).OnPingTimer(), this, Timeout.Infinite, Timeout.Infinite);
    }

    /// <summary>
    /// Connects over TCP and TLS (ALPN h2), sends the preface and starts reading. <paramref name="closed"/> is
    /// called once, with the cause, when the connection stops taking requests (GOAWAY, close, failure).
    /// </summary>
    /// <exception cref="HttpRequestException">
    /// The connection could not be made: <see cref="HttpRequestError.ConnectionError"/>,
    /// <see cref="HttpRequestError.NameResolutionError"/>, <see cref="HttpRequestError.SecureConnectionError"/> or
    /// <see cref="HttpRequestError.VersionNegotiationError"/> when the peer does not speak HTTP/2.
    /// </exception>
    public static async Task<Http2Connection> ConnectAsync(DnsEndPoint endpoint, RemoteCertificateValidationCallback? validateCertificate,
        TimeSpan connectTimeout, TimeSpan pingInterval, TimeSpan pingTimeout, Action<string> closed, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(connectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        SslStream? tls = null;
        try
        {
            try
            {
                await socket.ConnectAsync(endpoint, timeout.Token).ConfigureAwait(false);
            }
            catch (SocketException e)
            {
                throw new HttpRequestException(
                    e.SocketErrorCode is SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData
                        ? HttpRequestError.NameResolutionError : HttpRequestError.ConnectionError,
                    "Could not connect to APNs (" + e.SocketErrorCode + ").", e);
            }

            tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            try
            {
                await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = endpoint.Host,
                    ApplicationProtocols = [SslApplicationProtocol.Http2],
                    RemoteCertificateValidationCallback = validateCertificate,
                }, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AuthenticationException or IOException)
            {
                throw new HttpRequestException(HttpRequestError.SecureConnectionError, "The TLS handshake with APNs failed.", e);
            }

            if (tls.NegotiatedApplicationProtocol != SslApplicationProtocol.Http2)
            {
                throw new HttpRequestException(HttpRequestError.VersionNegotiationError, "APNs did not agree to HTTP/2 (ALPN h2).");
            }

            var connection = new Http2Connection(tls, closed, pingInterval, pingTimeout);
            connection.Start();
            return connection;
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            Dispose(tls, socket);
            throw new HttpRequestException(HttpRequestError.ConnectionError, $"Could not connect to APNs within {connectTimeout}.", e);
        }
        catch
        {
            Dispose(tls, socket);
            throw;
        }

        static void Dispose(SslStream? tls, Socket socket)
        {
            if (tls is not null)
            {
                tls.Dispose();
            }
            else
            {
                socket.Dispose();
            }
        }
    }

    /// <summary>
    /// Sends the stream's request and waits for its whole response. A request that could not leave (the connection
    /// is going away or gone) throws <see cref="Http2NotSentException"/>; a reset stream throws
    /// <see cref="HttpProtocolException"/>; a connection that failed under the stream, <see cref="HttpRequestException"/>.
    /// </summary>
    public async ValueTask SendAsync(Http2Stream stream, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var idsSpent = false;
        lock (_lock)
        {
            if (_closing || _goingAway)
            {
                throw new Http2NotSentException("The APNs connection is closing; the request goes to another.");
            }

            stream.Connection = this;
            if (_waitingToOpen.Count > 0 || _streams.Count >= _peerMaxStreams)
            {
                _waitingToOpen.Enqueue(stream);
            }
            else if (!Open(stream))
            {
                // Stream ids are spent (2^31 - 1): this connection takes no more requests, and the owner replaces it.
                _goingAway = true;
                idsSpent = true;
            }
        }

        if (idsSpent)
        {
            NotifyClosed("its stream ids are used up");
            throw new Http2NotSentException("The APNs connection has used all its stream ids.");
        }

        Flush();
        using (cancellationToken.UnsafeRegister(static (state, token) => ((Http2Stream)state!).Connection!.Cancel((Http2Stream)state!, token), stream))
        {
            await stream.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Sends GOAWAY (no error) and closes the connection; open streams fail as the connection's failure.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!Volatile.Read(ref _closing))
        {
            WriteGoAway(Http2Frames.NoError);
            Flush();
        }

        Close(null, "the connection was closed");
        if (_reader is { } reader)
        {
            await reader.ConfigureAwait(false);
        }

        await _pingTimer.DisposeAsync().ConfigureAwait(false);
    }

    private void Start()
    {
        lock (_lock)
        {
            var length = Http2Frames.Preface.Length + Http2Frames.HeaderLength + 18 + Http2Frames.HeaderLength + 4;
            var span = Reserve(length);
            _outputLength += length;
            Http2Frames.Preface.CopyTo(span);
            span = span[Http2Frames.Preface.Length..];
            Http2Frames.WriteHeader(span, 18, Http2Frames.Settings, 0, 0);
            WriteSetting(span[9..], Http2Frames.SettingsEnablePush, 0);
            WriteSetting(span[15..], Http2Frames.SettingsInitialWindowSize, ReceiveStreamWindow);
            WriteSetting(span[21..], Http2Frames.SettingsMaxHeaderListSize, MaxHeaderBlockBytes);
            span = span[27..];
            Http2Frames.WriteHeader(span, 4, Http2Frames.WindowUpdate, 0, 0);
            BinaryPrimitives.WriteInt32BigEndian(span[9..], ReceiveConnectionWindow - Http2Frames.DefaultWindowSize);
        }

        Flush();
        _pingTimer.Change(_pingInterval, Timeout.InfiniteTimeSpan);
        _reader = Task.Run(ReadLoopAsync);

        static void WriteSetting(Span<byte> destination, ushort id, int value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(destination, id);
            BinaryPrimitives.WriteInt32BigEndian(destination[2..], value);
        }
    }

    // Under the lock. The header block is written before the stream takes an id, so a value that cannot be sent
    // leaves nothing behind.
    private bool Open(Http2Stream stream)
    {
        var span = Reserve(Http2Frames.HeaderLength + stream.MaxHeaderBlockLength);
        var length = stream.WriteHeaderBlock(span[Http2Frames.HeaderLength..]);
        if (length > _peerMaxFrameSize)
        {
            throw new HttpRequestException("The request's headers do not fit in one HTTP/2 frame.");
        }

        if (_nextStreamId < 0)
        {
            return false;
        }

        stream.Id = _nextStreamId;
        _nextStreamId += 2;
        stream.SendWindow = _peerInitialWindow;
        _streams.Add(stream.Id, stream);
        var flags = (byte)(Http2Frames.EndHeaders | (stream.Body.IsEmpty ? Http2Frames.EndStream : 0));
        Http2Frames.WriteHeader(span, length, Http2Frames.Headers, flags, stream.Id);
        _outputLength += Http2Frames.HeaderLength + length;
        SendData(stream);
        return true;
    }

    // Under the lock: as much of the body as the windows allow; the rest waits for a WINDOW_UPDATE.
    private void SendData(Http2Stream stream)
    {
        var body = stream.Body.Span;
        while (stream.BodySent < body.Length)
        {
            var length = (int)Math.Min(Math.Min(body.Length - stream.BodySent, _peerMaxFrameSize), Math.Min(_connectionSendWindow, stream.SendWindow));
            if (length <= 0)
            {
                if (!stream.IsBlocked)
                {
                    stream.IsBlocked = true;
                    _blocked.Enqueue(stream);
                }

                return;
            }

            var last = stream.BodySent + length == body.Length;
            var span = Reserve(Http2Frames.HeaderLength + length);
            Http2Frames.WriteHeader(span, length, Http2Frames.Data, last ? Http2Frames.EndStream : (byte)0, stream.Id);
            body.Slice(stream.BodySent, length).CopyTo(span[Http2Frames.HeaderLength..]);
            _outputLength += Http2Frames.HeaderLength + length;
            stream.BodySent += length;
            stream.SendWindow -= length;
            _connectionSendWindow -= length;
        }
    }

    // Under the lock, after a window grew.
    private void SendBlocked()
    {
        for (var count = _blocked.Count; count > 0 && _connectionSendWindow > 0; count--)
        {
            var stream = _blocked.Dequeue();
            stream.IsBlocked = false;
            if (!stream.IsCompleted && _streams.ContainsKey(stream.Id))
            {
                SendData(stream);
            }
        }
    }

    // Under the lock, after a stream closed or the limit rose.
    private void OpenWaiting()
    {
        while (_waitingToOpen.Count > 0 && _streams.Count < _peerMaxStreams && !_closing && !_goingAway)
        {
            var stream = _waitingToOpen.Dequeue();
            if (stream.IsCompleted)
            {
                continue;
            }

            try
            {
                if (!Open(stream))
                {
                    stream.TryComplete(new Http2NotSentException("The APNs connection has used all its stream ids."));
                }
            }
            catch (HttpRequestException e)
            {
                stream.TryComplete(e);
            }
        }
    }

    // Under the lock.
    private void CloseStream(Http2Stream stream, Exception? failure)
    {
        _streams.Remove(stream.Id);
        stream.TryComplete(failure);
        OpenWaiting();
    }

    private void Cancel(Http2Stream stream, CancellationToken token)
    {
        lock (_lock)
        {
            if (stream.Id != 0 && _streams.Remove(stream.Id) && !_closing)
            {
                WriteRstStream(stream.Id, Http2Frames.Cancel);
            }

            stream.TryComplete(new OperationCanceledException(token));
            OpenWaiting();
        }

        Flush();
    }

    private Span<byte> Reserve(int length)
    {
        if (_output.Length - _outputLength < length)
        {
            var larger = new byte[Math.Max(_output.Length * 2, _outputLength + length)];
            _output.AsSpan(0, _outputLength).CopyTo(larger);
            _output = larger;
        }

        return _output.AsSpan(_outputLength, length);
    }

    private void WriteRstStream(int streamId, int errorCode)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(payload, errorCode);
        WriteFrame(Http2Frames.RstStream, 0, streamId, payload);
    }

    private void WriteFrame(byte type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var span = Reserve(Http2Frames.HeaderLength + payload.Length);
        Http2Frames.WriteHeader(span, payload.Length, type, flags, streamId);
        payload.CopyTo(span[Http2Frames.HeaderLength..]);
        _outputLength += Http2Frames.HeaderLength + payload.Length;
    }

    /// <summary>Starts sending what accumulated, unless a write is under way (which then sends it too).</summary>
    private void Flush()
    {
        lock (_lock)
        {
            if (_writing || _outputLength == 0)
            {
                return;
            }

            _writing = true;
        }

        _ = WriteLoopAsync();
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                byte[] buffer;
                int length;
                lock (_lock)
                {
                    if (_outputLength == 0)
                    {
                        _writing = false;
                        return;
                    }

                    buffer = _output;
                    length = _outputLength;
                    _output = _spareOutput ?? new byte[buffer.Length];
                    _spareOutput = null;
                    _outputLength = 0;
                }

                await _transport.WriteAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                lock (_lock)
                {
                    _spareOutput = buffer;
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            lock (_lock)
            {
                _writing = false;
            }

            Close(e, "the connection broke");
        }
    }

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var start = 0;
        var end = 0;
        var sawSettings = false;
        try
        {
            while (true)
            {
                // Every complete frame in the buffer, then one flush for the frames they made us write.
                while (end - start >= Http2Frames.HeaderLength)
                {
                    var header = Http2Frames.FrameHeader.Read(buffer.AsSpan(start));
                    if (header.Length > Http2Frames.DefaultMaxFrameSize)
                    {
                        throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a frame larger than SETTINGS_MAX_FRAME_SIZE");
                    }

                    if (end - start < Http2Frames.HeaderLength + header.Length)
                    {
                        break;
                    }

                    if (!sawSettings && header.Type != Http2Frames.Settings)
                    {
                        throw new Http2ProtocolError(Http2Frames.ProtocolError, "the server's preface was not SETTINGS but type " + header.Type + " length " + header.Length);
                    }

                    sawSettings = true;
                    Process(header, buffer.AsSpan(start + Http2Frames.HeaderLength, header.Length));
                    start += Http2Frames.HeaderLength + header.Length;
                }

                Flush();
                if (start == end)
                {
                    start = end = 0;
                }
                else if (buffer.Length - end < Http2Frames.HeaderLength + Http2Frames.DefaultMaxFrameSize)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }

                var read = await _transport.ReadAsync(buffer.AsMemory(end)).ConfigureAwait(false);
                if (read == 0)
                {
                    Close(null, "APNs closed the connection");
                    return;
                }

                end += read;
            }
        }
        catch (Http2ProtocolError e)
        {
            WriteGoAway(e.ErrorCode);
            Flush();
            Close(new HttpProtocolException(e.ErrorCode, "APNs broke the HTTP/2 protocol: " + e.Message + ".", null), "APNs broke the HTTP/2 protocol (" + e.Message + ")");
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException)
        {
            Close(e, "the connection broke");
        }
    }

    private void WriteGoAway(int errorCode)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(payload, 0);
        BinaryPrimitives.WriteInt32BigEndian(payload[4..], errorCode);
        lock (_lock)
        {
            WriteFrame(Http2Frames.GoAway, 0, 0, payload);
        }
    }

    private int _headerStreamId;
    private bool _headerEndStream;
    private byte[] _headerBlock = new byte[4096];
    private int _headerBlockLength;

    private void Process(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (_headerStreamId != 0 && (header.Type != Http2Frames.Continuation || header.StreamId != _headerStreamId))
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "a header block was interrupted");
        }

        switch (header.Type)
        {
            case Http2Frames.Headers:
                OnHeaders(header, payload);
                break;
            case Http2Frames.Continuation:
                OnContinuation(header, payload);
                break;
            case Http2Frames.Data:
                OnData(header, payload);
                break;
            case Http2Frames.RstStream:
                OnRstStream(header, payload);
                break;
            case Http2Frames.Settings:
                OnSettings(header, payload);
                break;
            case Http2Frames.Ping:
                OnPing(header, payload);
                break;
            case Http2Frames.GoAway:
                OnGoAway(header, payload);
                break;
            case Http2Frames.WindowUpdate:
                OnWindowUpdate(header, payload);
                break;
            case Http2Frames.PushPromise:
                throw new Http2ProtocolError(Http2Frames.ProtocolError, "PUSH_PROMISE although push is disabled");
            case Http2Frames.Priority when header.Length != 5:
                throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a PRIORITY frame not 5 bytes long");
            default:
                // PRIORITY and unknown frame types are ignored (RFC 9113 §4.1, §5.5).
                break;
        }
    }

    private void OnHeaders(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.StreamId == 0 || header.StreamId % 2 == 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "HEADERS on a stream the client did not open");
        }

        payload = WithoutPadding(header, payload);
        if (header.Has(Http2Frames.PriorityFlag))
        {
            if (payload.Length < 5)
            {
                throw new Http2ProtocolError(Http2Frames.FrameSizeError, "HEADERS too short for its priority");
            }

            payload = payload[5..];
        }

        if (header.Has(Http2Frames.EndHeaders))
        {
            OnHeaderBlock(header.StreamId, header.Has(Http2Frames.EndStream), payload);
            return;
        }

        _headerStreamId = header.StreamId;
        _headerEndStream = header.Has(Http2Frames.EndStream);
        _headerBlockLength = 0;
        AppendHeaderBlock(payload);
    }

    private void OnContinuation(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (_headerStreamId == 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "CONTINUATION without HEADERS");
        }

        AppendHeaderBlock(payload);
        if (header.Has(Http2Frames.EndHeaders))
        {
            var streamId = _headerStreamId;
            _headerStreamId = 0;
            OnHeaderBlock(streamId, _headerEndStream, _headerBlock.AsSpan(0, _headerBlockLength));
        }
    }

    private void AppendHeaderBlock(ReadOnlySpan<byte> fragment)
    {
        if (_headerBlockLength + fragment.Length > MaxHeaderBlockBytes)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "a header block larger than " + MaxHeaderBlockBytes + " bytes");
        }

        if (_headerBlock.Length < _headerBlockLength + fragment.Length)
        {
            Array.Resize(ref _headerBlock, Math.Max(_headerBlock.Length * 2, _headerBlockLength + fragment.Length));
        }

        fragment.CopyTo(_headerBlock.AsSpan(_headerBlockLength));
        _headerBlockLength += fragment.Length;
    }

    private void OnHeaderBlock(int streamId, bool endStream, ReadOnlySpan<byte> block)
    {
        Http2Stream? stream;
        lock (_lock)
        {
            _streams.TryGetValue(streamId, out stream);
        }

        // Every block is decoded, even for a stream that is gone, to keep the decoder's table in step with the peer's.
        var trailers = stream is { HasResponseHeaders: true };
        try
        {
            _decoder.Decode(block, stream is null || trailers ? DiscardingSink.Instance : stream);
        }
        catch (HpackException e)
        {
            throw new Http2ProtocolError(Http2Frames.CompressionError, "a header block that does not decode (" + e.Message + ")");
        }

        if (stream is null)
        {
            return;
        }

        lock (_lock)
        {
            if (!trailers)
            {
                if (stream.Status is >= 100 and < 200 && !endStream)
                {
                    stream.ForgetInformationalStatus();
                    return;
                }

                if (stream.Status is < 200 or > 599)
                {
                    ResetStream(stream, Http2Frames.ProtocolError, "APNs answered without a valid :status");
                    return;
                }

                stream.HasResponseHeaders = true;
            }
            else if (!endStream)
            {
                ResetStream(stream, Http2Frames.ProtocolError, "APNs sent trailers that do not end the stream");
                return;
            }

            if (endStream && _streams.ContainsKey(streamId))
            {
                CloseStream(stream, null);
            }
        }
    }

    private void OnData(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.StreamId == 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "DATA on stream 0");
        }

        lock (_lock)
        {
            // Padding counts against the window too (RFC 9113 §6.1).
            _receivedSinceUpdate += header.Length;
            if (_receivedSinceUpdate >= ReceiveConnectionWindow / 2)
            {
                var increment = (Span<byte>)stackalloc byte[4];
                BinaryPrimitives.WriteInt32BigEndian(increment, _receivedSinceUpdate);
                WriteFrame(Http2Frames.WindowUpdate, 0, 0, increment);
                _receivedSinceUpdate = 0;
            }

            if (!_streams.TryGetValue(header.StreamId, out var stream))
            {
                return;
            }

            if (!stream.HasResponseHeaders)
            {
                ResetStream(stream, Http2Frames.ProtocolError, "APNs sent DATA before the response headers");
                return;
            }

            if (!stream.OnData(WithoutPadding(header, payload)))
            {
                ResetStream(stream, Http2Frames.Cancel, "APNs sent a response body larger than expected");
                return;
            }

            if (header.Has(Http2Frames.EndStream))
            {
                CloseStream(stream, null);
            }
        }
    }

    // Under the lock: a stream error of ours (RFC 9113 §5.4.2).
    private void ResetStream(Http2Stream stream, int errorCode, string reason)
    {
        WriteRstStream(stream.Id, errorCode);
        CloseStream(stream, new HttpProtocolException(errorCode, reason + ".", null));
    }

    private void OnRstStream(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Length != 4)
        {
            throw new Http2ProtocolError(Http2Frames.FrameSizeError, "an RST_STREAM frame not 4 bytes long");
        }

        if (header.StreamId == 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "RST_STREAM on stream 0");
        }

        var errorCode = BinaryPrimitives.ReadInt32BigEndian(payload);
        lock (_lock)
        {
            if (_streams.TryGetValue(header.StreamId, out var stream))
            {
                CloseStream(stream, new HttpProtocolException(errorCode, $"APNs reset the stream (HTTP/2 error {errorCode}).", null));
            }
        }
    }

    private void OnSettings(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.StreamId != 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "SETTINGS on a stream");
        }

        if (header.Has(Http2Frames.Ack))
        {
            if (header.Length != 0)
            {
                throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a SETTINGS acknowledgement with a payload");
            }

            return;
        }

        if (header.Length % 6 != 0)
        {
            throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a SETTINGS frame whose length is not a multiple of 6");
        }

        lock (_lock)
        {
            for (var i = 0; i < payload.Length; i += 6)
            {
                var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
                var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
                switch (id)
                {
                    case Http2Frames.SettingsMaxConcurrentStreams:
                        _peerMaxStreams = (int)Math.Min(value, int.MaxValue);
                        break;
                    case Http2Frames.SettingsInitialWindowSize when value > Http2Frames.MaxWindowSize:
                        throw new Http2ProtocolError(Http2Frames.FlowControlError, "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1");
                    case Http2Frames.SettingsInitialWindowSize:
                        // The change applies to every open stream's window, which may go negative (RFC 9113 §6.9.2).
                        var delta = (int)value - _peerInitialWindow;
                        _peerInitialWindow = (int)value;
                        foreach (var stream in _streams.Values)
                        {
                            stream.SendWindow += delta;
                        }

                        break;
                    case Http2Frames.SettingsMaxFrameSize when value is < Http2Frames.DefaultMaxFrameSize or > 16_777_215:
                        throw new Http2ProtocolError(Http2Frames.ProtocolError, "SETTINGS_MAX_FRAME_SIZE out of range");
                    case Http2Frames.SettingsMaxFrameSize:
                        _peerMaxFrameSize = (int)value;
                        break;
                    case Http2Frames.SettingsEnablePush when value > 1:
                        throw new Http2ProtocolError(Http2Frames.ProtocolError, "SETTINGS_ENABLE_PUSH not 0 or 1");
                    default:
                        // The header table size bounds an encoder that indexes; ours never does. Others are ignored.
                        break;
                }
            }

            WriteFrame(Http2Frames.Settings, Http2Frames.Ack, 0, []);
            SendBlocked();
            OpenWaiting();
        }
    }

    private void OnPing(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Length != 8)
        {
            throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a PING frame not 8 bytes long");
        }

        if (header.StreamId != 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "PING on a stream");
        }

        lock (_lock)
        {
            if (header.Has(Http2Frames.Ack))
            {
                if (_pingOutstanding)
                {
                    _pingOutstanding = false;
                    _pingTimer.Change(_pingInterval, Timeout.InfiniteTimeSpan);
                }
            }
            else
            {
                WriteFrame(Http2Frames.Ping, Http2Frames.Ack, 0, payload);
            }
        }
    }

    private void OnGoAway(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Length < 8)
        {
            throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a GOAWAY frame shorter than 8 bytes");
        }

        if (header.StreamId != 0)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "GOAWAY on a stream");
        }

        var lastStreamId = BinaryPrimitives.ReadInt32BigEndian(payload) & int.MaxValue;
        var errorCode = BinaryPrimitives.ReadInt32BigEndian(payload[4..]);
        lock (_lock)
        {
            _goingAway = true;

            // Streams above the last id were not processed and may go elsewhere (RFC 9113 §6.8).
            List<Http2Stream>? unprocessed = null;
            foreach (var stream in _streams.Values)
            {
                if (stream.Id > lastStreamId)
                {
                    (unprocessed ??= []).Add(stream);
                }
            }

            foreach (var stream in unprocessed ?? [])
            {
                _streams.Remove(stream.Id);
                stream.TryComplete(new Http2NotSentException("APNs did not process the stream before its GOAWAY."));
            }

            FailWaiting();
        }

        NotifyClosed(errorCode == Http2Frames.NoError ? "APNs sent GOAWAY" : $"APNs sent GOAWAY (HTTP/2 error {errorCode})");
    }

    private void OnWindowUpdate(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (header.Length != 4)
        {
            throw new Http2ProtocolError(Http2Frames.FrameSizeError, "a WINDOW_UPDATE frame not 4 bytes long");
        }

        var increment = BinaryPrimitives.ReadInt32BigEndian(payload) & int.MaxValue;
        lock (_lock)
        {
            if (header.StreamId == 0)
            {
                if (increment == 0 || _connectionSendWindow + increment > Http2Frames.MaxWindowSize)
                {
                    throw new Http2ProtocolError(increment == 0 ? Http2Frames.ProtocolError : Http2Frames.FlowControlError,
                        "a connection WINDOW_UPDATE of " + increment);
                }

                _connectionSendWindow += increment;
            }
            else if (_streams.TryGetValue(header.StreamId, out var stream))
            {
                if (increment == 0 || stream.SendWindow + increment > Http2Frames.MaxWindowSize)
                {
                    ResetStream(stream, increment == 0 ? Http2Frames.ProtocolError : Http2Frames.FlowControlError, "APNs sent a bad stream WINDOW_UPDATE");
                    return;
                }

                stream.SendWindow += increment;
            }

            SendBlocked();
        }
    }

    // Under the lock: requests that never got a stream.
    private void FailWaiting()
    {
        while (_waitingToOpen.TryDequeue(out var waiting))
        {
            waiting.TryComplete(new Http2NotSentException("The APNs connection is closing; the request goes to another."));
        }
    }

    private void OnPingTimer()
    {
        bool unanswered;
        lock (_lock)
        {
            if (_closing)
            {
                return;
            }

            unanswered = _pingOutstanding;
            if (!unanswered)
            {
                _pingOutstanding = true;
                var payload = (Span<byte>)stackalloc byte[8];
                BinaryPrimitives.WriteInt64BigEndian(payload, Environment.TickCount64);
                WriteFrame(Http2Frames.Ping, 0, 0, payload);
                _pingTimer.Change(_pingTimeout, Timeout.InfiniteTimeSpan);
            }
        }

        if (!unanswered)
        {
            Flush();
        }
        else
        {
            Close(new IOException("APNs did not answer a PING within " + _pingTimeout + "."), "APNs did not answer a PING");
        }
    }

    /// <summary>Stops the connection: every stream left fails (not sent, if it never got a stream id), the transport closes.</summary>
    private void Close(Exception? cause, string reason)
    {
        List<Http2Stream> open;
        lock (_lock)
        {
            if (_closing)
            {
                return;
            }

            _closing = true;
            open = [.. _streams.Values];
            _streams.Clear();
            FailWaiting();
        }

        var failure = cause is HttpProtocolException
            ? new HttpRequestException(HttpRequestError.HttpProtocolError, "The APNs connection failed: " + reason + ".", cause)
            : new HttpRequestException(HttpRequestError.ConnectionError, "The APNs connection failed: " + reason + ".", cause);
        foreach (var stream in open)
        {
            stream.TryComplete(failure);
        }

        NotifyClosed(reason);
        _pingTimer.Change(Timeout.Infinite, Timeout.Infinite);

        // A GOAWAY written just before is sent if the writer gets to it; the transport closes either way.
        _ = CloseTransportSoonAsync();
    }

    private async Task CloseTransportSoonAsync()
    {
        for (var i = 0; i < 10 && Volatile.Read(ref _writing); i++)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        await _transport.DisposeAsync().ConfigureAwait(false);
    }

    private void NotifyClosed(string reason)
    {
        if (Interlocked.Exchange(ref _closedOnce, 1) == 0)
        {
            _closed(reason);
        }
    }

    private static ReadOnlySpan<byte> WithoutPadding(Http2Frames.FrameHeader header, ReadOnlySpan<byte> payload)
    {
        if (!header.Has(Http2Frames.Padded))
        {
            return payload;
        }

        if (payload.Length < 1 || payload[0] >= payload.Length)
        {
            throw new Http2ProtocolError(Http2Frames.ProtocolError, "padding as long as the frame");
        }

        return payload[1..^payload[0]];
    }

    /// <summary>A connection error the peer caused (RFC 9113 §5.4.1): GOAWAY with this code, then close.</summary>
    private sealed class Http2ProtocolError(int errorCode, string message) : Exception(message)
    {
        public int ErrorCode { get; } = errorCode;
    }

    private sealed class DiscardingSink : IHeaderSink
    {
        public static readonly DiscardingSink Instance = new();

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
        }
    }
}
