using System.Buffers;
using System.Buffers.Text;

namespace Relay.Apns.Http2;

/// <summary>
/// Writes request header fields in HPACK (RFC 7541) without touching the dynamic table: indexed static fields and
/// literals, never Huffman-coded. A stateless encoder needs nothing from the peer's table size, and the fields a
/// request carries are short.
/// </summary>
internal static class HpackEncoder
{
    // Static table indices (RFC 7541 Appendix A).
    public const int Authority = 1, MethodPost = 3, Path = 4, SchemeHttps = 7, Authorization = 23, ContentLength = 28, ContentType = 31;

    private static readonly SearchValues<byte> FieldValueBytes = SearchValues.Create(
        Enumerable.Range(0x20, 0x7F - 0x20).Select(b => (byte)b).ToArray());

    /// <summary>An indexed field (§6.1) from the static table.</summary>
    public static int WriteIndexed(int index, Span<byte> destination) => WriteInteger(index, 7, 0x80, destination);

    /// <summary>A literal without indexing (§6.2.2) whose name is a static table entry.</summary>
    public static int WriteIndexedName(int nameIndex, ReadOnlySpan<byte> value, Span<byte> destination, bool sensitive = false)
    {
        var written = WriteInteger(nameIndex, 4, sensitive ? (byte)0x10 : (byte)0x00, destination);
        return written + WriteString(value, destination[written..]);
    }

    /// <summary>A literal without indexing with a literal name, which must be lower case.</summary>
    public static int WriteLiteral(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, Span<byte> destination)
    {
        destination[0] = 0x00;
        var written = 1 + WriteString(name, destination[1..]);
        return written + WriteString(value, destination[written..]);
    }

    /// <summary>A literal with an ASCII value given as a string.</summary>
    public static int WriteLiteral(ReadOnlySpan<byte> name, ReadOnlySpan<char> value, Span<byte> destination)
    {
        destination[0] = 0x00;
        var written = 1 + WriteString(name, destination[1..]);
        return written + WriteString(value, destination[written..]);
    }

    /// <summary>A literal with a static name and an ASCII value given as a string.</summary>
    public static int WriteIndexedName(int nameIndex, ReadOnlySpan<char> value, Span<byte> destination, bool sensitive = false)
    {
        var written = WriteInteger(nameIndex, 4, sensitive ? (byte)0x10 : (byte)0x00, destination);
        return written + WriteString(value, destination[written..]);
    }

    /// <summary>A literal with a static name whose value is a byte prefix and an ASCII string.</summary>
    public static int WriteIndexedName(int nameIndex, ReadOnlySpan<byte> prefix, ReadOnlySpan<char> rest, Span<byte> destination)
    {
        var written = WriteInteger(nameIndex, 4, 0x00, destination);
        written += WriteInteger(prefix.Length + rest.Length, 7, 0x00, destination[written..]);
        prefix.CopyTo(destination[written..]);
        written += prefix.Length;
        return written + WriteAscii(rest, destination[written..]);
    }

    /// <summary>A literal with a static name and a non-negative number as its value.</summary>
    public static int WriteIndexedName(int nameIndex, long value, Span<byte> destination)
    {
        var written = WriteInteger(nameIndex, 4, 0x00, destination);
        Span<byte> digits = stackalloc byte[20];
        Utf8Formatter.TryFormat(value, digits, out var length);
        return written + WriteString(digits[..length], destination[written..]);
    }

    /// <summary>The most bytes a literal field of these lengths can take.</summary>
    public static int MaxLiteralLength(int nameLength, int valueLength) => 1 + 5 + nameLength + 5 + valueLength;

    /// <summary>An integer with an N-bit prefix (§5.1), the prefix's other bits set from <paramref name="pattern"/>.</summary>
    public static int WriteInteger(int value, int prefixBits, byte pattern, Span<byte> destination)
    {
        var max = (1 << prefixBits) - 1;
        if (value < max)
        {
            destination[0] = (byte)(pattern | value);
            return 1;
        }

        destination[0] = (byte)(pattern | max);
        var written = 1;
        value -= max;
        while (value >= 0x80)
        {
            destination[written++] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }

        destination[written++] = (byte)value;
        return written;
    }

    private static int WriteString(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        if (value.ContainsAnyExcept(FieldValueBytes))
        {
            throw InvalidValue();
        }

        var written = WriteInteger(value.Length, 7, 0x00, destination);
        value.CopyTo(destination[written..]);
        return written + value.Length;
    }

    private static int WriteString(ReadOnlySpan<char> value, Span<byte> destination)
    {
        var written = WriteInteger(value.Length, 7, 0x00, destination);
        return written + WriteAscii(value, destination[written..]);
    }

    private static int WriteAscii(ReadOnlySpan<char> value, Span<byte> destination)
    {
        if (System.Text.Ascii.FromUtf16(value, destination, out var written) != OperationStatus.Done
            || destination[..written].ContainsAnyExcept(FieldValueBytes))
        {
            throw InvalidValue();
        }

        return written;
    }

    // Thrown before anything is written: the client treats it as a request that cannot be sent.
    private static HttpRequestException InvalidValue() => new("Request headers must contain only visible ASCII characters.");
}
