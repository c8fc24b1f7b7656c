using System.Buffers.Binary;

namespace Relay.Apns.Http2;

/// <summary>The frame types, flags, settings and error codes of RFC 9113 this client uses, and the frame header.</summary>
internal static class Http2Frames
{
    public const int HeaderLength = 9;

    /// <summary>The smallest SETTINGS_MAX_FRAME_SIZE a peer may set, and the default.</summary>
    public const int DefaultMaxFrameSize = 16_384;

    public const int DefaultWindowSize = 65_535;

    public const int MaxWindowSize = int.MaxValue;

    public const byte Data = 0x0, Headers = 0x1, Priority = 0x2, RstStream = 0x3, Settings = 0x4, PushPromise = 0x5,
        Ping = 0x6, GoAway = 0x7, WindowUpdate = 0x8, Continuation = 0x9;

    public const byte EndStream = 0x1, Ack = 0x1, EndHeaders = 0x4, Padded = 0x8, PriorityFlag = 0x20;

    public const ushort SettingsHeaderTableSize = 0x1, SettingsEnablePush = 0x2, SettingsMaxConcurrentStreams = 0x3,
        SettingsInitialWindowSize = 0x4, SettingsMaxFrameSize = 0x5, SettingsMaxHeaderListSize = 0x6;

    public const int NoError = 0x0, ProtocolError = 0x1, InternalError = 0x2, FlowControlError = 0x3, FrameSizeError = 0x6,
        RefusedStream = 0x7, Cancel = 0x8, CompressionError = 0x9;

    /// <summary>The client connection preface (RFC 9113 §3.4).</summary>
    public static ReadOnlySpan<byte> Preface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public static void WriteHeader(Span<byte> destination, int length, byte type, byte flags, int streamId)
    {
        destination[0] = (byte)(length >> 16);
        destination[1] = (byte)(length >> 8);
        destination[2] = (byte)length;
        destination[3] = type;
        destination[4] = flags;
        BinaryPrimitives.WriteInt32BigEndian(destination[5..], streamId & int.MaxValue);
    }

    /// <summary>A frame header read from the wire.</summary>
    public readonly record struct FrameHeader(int Length, byte Type, byte Flags, int StreamId)
    {
        public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
            (source[0] << 16) | (source[1] << 8) | source[2],
            source[3],
            source[4],
            BinaryPrimitives.ReadInt32BigEndian(source[5..]) & int.MaxValue);

        public bool Has(byte flag) => (Flags & flag) != 0;
    }
}
