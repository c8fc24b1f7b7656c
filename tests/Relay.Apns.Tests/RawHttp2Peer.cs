using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Relay.Apns.Http2;

namespace Relay.Apns.Tests;

/// <summary>
/// An HTTP/2 server over TLS that does exactly what a test script says, frame by frame: for the parts of RFC 9113
/// that Kestrel (the mock) never does on its own, such as CONTINUATION, padding, Huffman-coded and indexed response
/// headers, small windows, a low stream limit or a malformed frame.
/// </summary>
internal sealed class RawHttp2Peer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly Func<Connection, Task> _script;
    private readonly Task _accepting;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private int _connectionCount;

    public RawHttp2Peer(X509Certificate2 certificate, Func<Connection, Task> script)
    {
        _certificate = certificate;
        _script = script;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri BaseAddress => new($"https://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    /// <summary>The first failure of a script, which a test should see rather than a hang.</summary>
    public Exception? ScriptFailure { get; private set; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
        }

        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var socket = await _listener.AcceptSocketAsync(_stop.Token);
            Interlocked.Increment(ref _connectionCount);
            lock (_connections)
            {
                _connections.Add(ServeAsync(socket));
            }
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = _certificate,
                ApplicationProtocols = [SslApplicationProtocol.Http2],
            }, _stop.Token);
            using var connection = new Connection(tls, _stop.Token);
            await connection.ReadPrefaceAsync();
            await _script(connection);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the test ended.
        }
        catch (Exception e)
        {
            ScriptFailure ??= e;
        }
    }

    /// <summary>A frame as read from the client.</summary>
    public sealed record Frame(byte Type, byte Flags, int StreamId, byte[] Payload)
    {
        public bool Has(byte flag) => (Flags & flag) != 0;
    }

    /// <summary>One accepted connection, for the script to drive.</summary>
    public sealed class Connection(SslStream tls, CancellationToken stop) : IDisposable
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly HpackDecoder _decoder = new();

        public void Dispose() => _writeLock.Dispose();

        /// <summary>The client's SETTINGS, as read with the preface.</summary>
        public Dictionary<ushort, uint> ClientSettings { get; } = [];

        public async Task ReadPrefaceAsync()
        {
            var preface = new byte[Http2Frames.Preface.Length];
            await tls.ReadExactlyAsync(preface, stop);
            if (!preface.AsSpan().SequenceEqual(Http2Frames.Preface))
            {
                throw new InvalidOperationException("The client did not send the HTTP/2 preface.");
            }
        }

        /// <summary>The next frame from the client; null once it closed the connection.</summary>
        public async Task<Frame?> ReadFrameAsync()
        {
            var header = new byte[Http2Frames.HeaderLength];
            try
            {
                await tls.ReadExactlyAsync(header, stop);
            }
            catch (EndOfStreamException)
            {
                return null;
            }

            var parsed = Http2Frames.FrameHeader.Read(header);
            var payload = new byte[parsed.Length];
            await tls.ReadExactlyAsync(payload, stop);
            var frame = new Frame(parsed.Type, parsed.Flags, parsed.StreamId, payload);
            if (frame.Type == Http2Frames.Settings && !frame.Has(Http2Frames.Ack))
            {
                for (var i = 0; i < payload.Length; i += 6)
                {
                    ClientSettings[BinaryPrimitives.ReadUInt16BigEndian(payload.AsSpan(i))] = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(i + 2));
                }
            }

            return frame;
        }

        /// <summary>Reads until a frame matches, skipping the others (SETTINGS ACK, WINDOW_UPDATE, ...).</summary>
        public async Task<Frame> ReadUntilAsync(Func<Frame, bool> match)
        {
            while (true)
            {
                var frame = await ReadFrameAsync() ?? throw new EndOfStreamException("The client closed the connection.");
                if (match(frame))
                {
                    return frame;
                }
            }
        }

        /// <summary>The request headers of a HEADERS frame (the client sends them in one frame).</summary>
        public Dictionary<string, string> DecodeRequestHeaders(Frame headers)
        {
            var fields = new FieldCollector();
            _decoder.Decode(headers.Payload, fields);
            return fields.Fields;
        }

        public Task WriteSettingsAsync(params (ushort Id, uint Value)[] settings)
        {
            var payload = new byte[settings.Length * 6];
            for (var i = 0; i < settings.Length; i++)
            {
                BinaryPrimitives.WriteUInt16BigEndian(payload.AsSpan(i * 6), settings[i].Id);
                BinaryPrimitives.WriteUInt32BigEndian(payload.AsSpan((i * 6) + 2), settings[i].Value);
            }

            return WriteFrameAsync(Http2Frames.Settings, 0, 0, payload);
        }

        public Task WriteWindowUpdateAsync(int streamId, int increment)
        {
            var payload = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(payload, increment);
            return WriteFrameAsync(Http2Frames.WindowUpdate, 0, streamId, payload);
        }

        /// <summary>HEADERS with <c>:status</c> and the given fields as literals, in one frame.</summary>
        public Task WriteResponseAsync(int streamId, int status, bool endStream, params (string Name, string Value)[] fields) =>
            WriteFrameAsync(Http2Frames.Headers, (byte)(Http2Frames.EndHeaders | (endStream ? Http2Frames.EndStream : 0)), streamId,
                Block(status, fields));

        /// <summary>A header block: <c>:status</c> then literals without indexing, none Huffman-coded.</summary>
        public static byte[] Block(int status, params (string Name, string Value)[] fields)
        {
            var block = new byte[4096];
            var n = HpackEncoder.WriteIndexedName(8, Encoding.ASCII.GetBytes(status.ToString(System.Globalization.CultureInfo.InvariantCulture)), block);
            foreach (var (name, value) in fields)
            {
                n += HpackEncoder.WriteLiteral(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), block.AsSpan(n));
            }

            return block[..n];
        }

        public async Task WriteFrameAsync(byte type, byte flags, int streamId, ReadOnlyMemory<byte> payload)
        {
            var frame = new byte[Http2Frames.HeaderLength + payload.Length];
            Http2Frames.WriteHeader(frame, payload.Length, type, flags, streamId);
            payload.CopyTo(frame.AsMemory(Http2Frames.HeaderLength));
            await WriteRawAsync(frame);
        }

        public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes)
        {
            await _writeLock.WaitAsync(stop);
            try
            {
                await tls.WriteAsync(bytes, stop);
                await tls.FlushAsync(stop);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        /// <summary>Reads the whole request body of a stream (DATA frames until END_STREAM).</summary>
        public async Task<byte[]> ReadBodyAsync(int streamId)
        {
            var body = new List<byte>();
            while (true)
            {
                var frame = await ReadUntilAsync(f => f.Type == Http2Frames.Data && f.StreamId == streamId);
                body.AddRange(frame.Payload);
                if (frame.Has(Http2Frames.EndStream))
                {
                    return [.. body];
                }
            }
        }

        private sealed class FieldCollector : IHeaderSink
        {
            public Dictionary<string, string> Fields { get; } = new(StringComparer.Ordinal);

            public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
                Fields[Encoding.ASCII.GetString(name)] = Encoding.ASCII.GetString(value);
        }
    }
}
