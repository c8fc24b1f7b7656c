using System.Runtime.CompilerServices;

namespace Relay.Apns.Http2;

/// <summary>
/// The Huffman code of RFC 7541 Appendix B, used by HPACK string literals whose H bit is set. Decoding reads up to 11
/// bits at a time through a lookup table; the rare longer codes (12 to 30 bits, all of them starting with eight 1s)
/// are decoded by code length, which works because the code is canonical: the codes of one length are consecutive
/// and ordered like their symbols.
/// </summary>
internal static class Huffman
{
    public const int SymbolCount = 257;
    public const int EosSymbol = 256;
    public const int MaxCodeLength = 30;

    private const int PrimaryBits = 11;
    private const uint PrimaryMask = (1u << PrimaryBits) - 1;

    // For every 11-bit prefix that starts with a code of at most 11 bits: (code length << 8) | symbol. 0 where the
    // prefix belongs to a longer code, since no code has length 0.
    private static readonly ushort[] s_primary = BuildPrimary();

    // Codes longer than PrimaryBits, by length: the first code of each length, how many there are and where their
    // symbols start in s_symbolsByCode.
    private static readonly uint[] s_firstCode = BuildFirstCodes();
    private static readonly int[] s_codeCount = BuildCodeCounts();
    private static readonly int[] s_symbolOffset = BuildSymbolOffsets();
    private static readonly ushort[] s_symbolsByCode = BuildSymbolsByCode();

    /// <summary>The code of each symbol (0 to 255, then EOS), right-aligned: its last bit is the lowest bit.</summary>
    public static ReadOnlySpan<uint> Codes =>
    [
        0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
        0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
        0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
        0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
        0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
        0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
        0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
        0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
        0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
        0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
        0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
        0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
        0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
        0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
        0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
        0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
        0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
        0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
        0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
        0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
        0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
        0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
        0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
        0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
        0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
        0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
        0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
        0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
        0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
        0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
        0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
        0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
        0x3fffffff,
    ];

    /// <summary>The length in bits of each symbol's code.</summary>
    public static ReadOnlySpan<byte> CodeLengths =>
    [
        13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0-15
        28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16-31
        6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32-47
        5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48-63
        13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64-79
        7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80-95
        15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96-111
        6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112-127
        20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128-143
        24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144-159
        22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160-175
        21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176-191
        26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192-207
        19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208-223
        20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224-239
        26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240-255
        30, // 256-256
    ];

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/> and returns the number of bytes written.
    /// A destination of <c>source.Length * 8 / 5</c> bytes always suffices (the shortest code has 5 bits).
    /// </summary>
    /// <exception cref="HpackException">
    /// The padding is longer than 7 bits or is not a prefix of EOS (all 1s), the string contains EOS (RFC 7541 §5.2),
    /// or the decoded string does not fit into <paramref name="destination"/>.
    /// </exception>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        var primary = s_primary;
        ulong pending = 0; // the lowest `bits` bits are read but not decoded yet; the bits above them are stale
        var bits = 0;
        var read = 0;
        var written = 0;
        while (true)
        {
            if (bits < MaxCodeLength)
            {
                while (bits <= 56 && read < source.Length)
                {
                    pending = (pending << 8) | source[read++];
                    bits += 8;
                }

                if (bits == 0)
                {
                    break;
                }
            }

            int entry = primary[Peek(pending, bits, PrimaryBits)];
            int length, symbol;
            if (entry != 0)
            {
                length = entry >> 8;
                symbol = entry & 0xFF;
            }
            else
            {
                symbol = DecodeLong(Peek(pending, bits, MaxCodeLength), out length);
            }

            if (length > bits)
            {
                // Only at the end of the input: the bits left do not make a whole code, so they are padding.
                if (bits > 7)
                {
                    throw new HpackException("Huffman-coded string has padding longer than 7 bits.");
                }

                var mask = (1UL << bits) - 1;
                if ((pending & mask) != mask)
                {
                    throw new HpackException("Huffman-coded string has padding that is not a prefix of EOS.");
                }

                break;
            }

            if (symbol == EosSymbol)
            {
                throw new HpackException("Huffman-coded string contains EOS.");
            }

            if ((uint)written >= (uint)destination.Length)
            {
                throw new HpackException("Huffman-coded string decodes to more bytes than allowed.");
            }

            destination[written++] = (byte)symbol;
            bits -= length;
        }

        return written;
    }

    /// <summary>The length in bytes of <paramref name="source"/> Huffman-coded, padding included.</summary>
    public static int GetEncodedLength(ReadOnlySpan<byte> source)
    {
        var lengths = CodeLengths;
        long bits = 0;
        foreach (var b in source)
        {
            bits += lengths[b];
        }

        return checked((int)((bits + 7) >> 3));
    }

    /// <summary>
    /// Huffman-codes <paramref name="source"/> into <paramref name="destination"/>, padding the last byte with the
    /// most significant bits of EOS, and returns the number of bytes written.
    /// </summary>
    public static int Encode(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        if (destination.Length < GetEncodedLength(source))
        {
            throw new ArgumentException("The destination is shorter than the Huffman-coded source.", nameof(destination));
        }

        var codes = Codes;
        var lengths = CodeLengths;
        ulong pending = 0;
        var bits = 0;
        var written = 0;
        foreach (var b in source)
        {
            // At most 7 + 30 bits are pending, which fits.
            pending = (pending << lengths[b]) | codes[b];
            bits += lengths[b];
            while (bits >= 8)
            {
                bits -= 8;
                destination[written++] = (byte)(pending >> bits);
            }
        }

        if (bits > 0)
        {
            destination[written++] = (byte)((pending << (8 - bits)) | (0xFFu >> bits));
        }

        return written;
    }

    /// <summary>
    /// The next <paramref name="count"/> pending bits; at the end of the input, when fewer are left, they are
    /// followed by 1s, which makes any whole code among them still decode and leaves padding as a prefix of EOS.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Peek(ulong pending, int bits, int count)
    {
        var mask = (1u << count) - 1;
        return bits >= count
            ? (uint)(pending >> (bits - count)) & mask
            : (uint)((pending << (count - bits)) | ((1UL << (count - bits)) - 1)) & mask;
    }

    /// <summary>The symbol of the code longer than 11 bits that starts <paramref name="next30"/>.</summary>
    private static int DecodeLong(uint next30, out int length)
    {
        for (length = PrimaryBits + 1; length <= MaxCodeLength; length++)
        {
            var index = (next30 >> (MaxCodeLength - length)) - s_firstCode[length];
            if (index < (uint)s_codeCount[length])
            {
                return s_symbolsByCode[s_symbolOffset[length] + (int)index];
            }
        }

        // Unreachable with a complete code: every 30-bit sequence starts with some code.
        throw new HpackException("Invalid Huffman code.");
    }

    private static ushort[] BuildPrimary()
    {
        var table = new ushort[1 << PrimaryBits];
        var codes = Codes;
        var lengths = CodeLengths;
        for (var symbol = 0; symbol < SymbolCount; symbol++)
        {
            var length = lengths[symbol];
            if (length > PrimaryBits)
            {
                continue;
            }

            // Every 11-bit prefix that starts with this code.
            var first = (int)(codes[symbol] << (PrimaryBits - length));
            var count = 1 << (PrimaryBits - length);
            table.AsSpan(first, count).Fill((ushort)((length << 8) | symbol));
        }

        return table;
    }

    private static int[] BuildCodeCounts()
    {
        var counts = new int[MaxCodeLength + 1];
        foreach (var length in CodeLengths)
        {
            counts[length]++;
        }

        return counts;
    }

    private static int[] BuildSymbolOffsets()
    {
        var counts = BuildCodeCounts();
        var offsets = new int[MaxCodeLength + 1];
        for (var length = 1; length <= MaxCodeLength; length++)
        {
            offsets[length] = offsets[length - 1] + counts[length - 1];
        }

        return offsets;
    }

    private static uint[] BuildFirstCodes()
    {
        var first = new uint[MaxCodeLength + 1];
        first.AsSpan().Fill(uint.MaxValue);
        var codes = Codes;
        var lengths = CodeLengths;
        for (var symbol = 0; symbol < SymbolCount; symbol++)
        {
            first[lengths[symbol]] = Math.Min(first[lengths[symbol]], codes[symbol]);
        }

        return first;
    }

    private static ushort[] BuildSymbolsByCode()
    {
        // Symbols ordered by code length, then by code.
        var offsets = BuildSymbolOffsets();
        var first = BuildFirstCodes();
        var symbols = new ushort[SymbolCount];
        var codes = Codes;
        var lengths = CodeLengths;
        for (var symbol = 0; symbol < SymbolCount; symbol++)
        {
            var length = lengths[symbol];
            symbols[offsets[length] + (int)(codes[symbol] - first[length])] = (ushort)symbol;
        }

        return symbols;
    }
}
