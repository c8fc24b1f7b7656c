using System.Threading.Tasks.Sources;

namespace Relay.Apns.Http2;

/// <summary>
/// One request on an <see cref="Http2Connection"/> and its response: the subclass writes the header block, holds
/// the body and keeps the response fields it needs. The stream is its own awaitable, so a request costs one object.
/// </summary>
internal abstract class Http2Stream : IValueTaskSource, IHeaderSink
{
    private ManualResetValueTaskSourceCore<bool> _completion = new() { RunContinuationsAsynchronously = true };
    private int _completed;

    /// <summary>The connection the stream was sent on.</summary>
    internal Http2Connection? Connection { get; set; }

    /// <summary>The stream id; 0 while the request waits for the peer's stream limit.</summary>
    internal int Id { get; set; }

    /// <summary>What the peer lets this stream send (RFC 9113 §6.9), under the connection's lock.</summary>
    internal long SendWindow { get; set; }

    /// <summary>How much of <see cref="Body"/> has been written.</summary>
    internal int BodySent { get; set; }

    internal bool IsBlocked { get; set; }

    /// <summary>Whether the final (not 1xx) response headers arrived; later header blocks are trailers.</summary>
    internal bool HasResponseHeaders { get; set; }

    internal bool IsCompleted => Volatile.Read(ref _completed) != 0;

    /// <summary>The response's <c>:status</c>, 0 until it arrives.</summary>
    public int Status { get; private set; }

    /// <summary>The request body, sent in DATA frames after the headers.</summary>
    public abstract ReadOnlyMemory<byte> Body { get; }

    /// <summary>An upper bound of the header block's length, for the buffer it is written into.</summary>
    public abstract int MaxHeaderBlockLength { get; }

    /// <summary>Writes the request's header block (HPACK) and returns its length.</summary>
    public abstract int WriteHeaderBlock(Span<byte> destination);

    void IHeaderSink.OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.SequenceEqual(":status"u8))
        {
            Status = value.Length == 3 && value[0] is >= (byte)'1' and <= (byte)'5' && char.IsAsciiDigit((char)value[1]) && char.IsAsciiDigit((char)value[2])
                ? ((value[0] - '0') * 100) + ((value[1] - '0') * 10) + (value[2] - '0')
                : -1;
        }
        else if (name.Length > 0 && name[0] != (byte)':')
        {
            OnResponseHeader(name, value);
        }
    }

    /// <summary>A response header other than the pseudo-headers.</summary>
    protected abstract void OnResponseHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);

    /// <summary>Response body bytes; false when the body is larger than the stream keeps.</summary>
    public abstract bool OnData(ReadOnlySpan<byte> data);

    /// <summary>An informational (1xx) header block ended: the final one is still to come.</summary>
    internal void ForgetInformationalStatus() => Status = 0;

    internal bool TryComplete(Exception? failure)
    {
        if (Interlocked.Exchange(ref _completed, 1) != 0)
        {
            return false;
        }

        if (failure is null)
        {
            _completion.SetResult(true);
        }
        else
        {
            _completion.SetException(failure);
        }

        return true;
    }

    internal ValueTask Completion => new(this, _completion.Version);

    void IValueTaskSource.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);
}

/// <summary>Thrown for a request that never reached the peer: it may be sent again anywhere.</summary>
internal sealed class Http2NotSentException(string message) : IOException(message);
