using System.Reflection;
using System.Text;
using Relay.Apns.Http2;

namespace Relay.Apns.Tests;

/// <summary>The Huffman code of RFC 7541 Appendix B: the table itself, encoding, decoding and its errors.</summary>
public sealed class HuffmanTests
{
    // The strings Huffman-coded in RFC 7541 Appendix C.4 and C.6.
    [Theory]
    [InlineData("www.example.com", "f1e3c2e5f23a6ba0ab90f4ff")]
    [InlineData("no-cache", "a8eb10649cbf")]
    [InlineData("custom-key", "25a849e95ba97d7f")]
    [InlineData("custom-value", "25a849e95bb8e8b4bf")]
    [InlineData("302", "6402")]
    [InlineData("307", "640eff")]
    [InlineData("private", "aec3771a4b")]
    [InlineData("Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff")]
    [InlineData("Mon, 21 Oct 2013 20:13:22 GMT", "d07abe941054d444a8200595040b8166e084a62d1bff")]
    [InlineData("https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3")]
    [InlineData("gzip", "9bd9ab")]
    [InlineData("foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
        "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    public void EncodesAndDecodesTheRfcExampleStrings(string text, string hex)
    {
        var plain = Encoding.ASCII.GetBytes(text);
        var coded = Convert.FromHexString(hex);

        Assert.Equal(coded.Length, Huffman.GetEncodedLength(plain));
        var encoded = new byte[coded.Length];
        Assert.Equal(coded.Length, Huffman.Encode(plain, encoded));
        Assert.Equal(hex, Convert.ToHexStringLower(encoded));

        var decoded = new byte[coded.Length * 8 / 5];
        var written = Huffman.Decode(coded, decoded);
        Assert.Equal(text, Encoding.ASCII.GetString(decoded, 0, written));
    }

    [Fact]
    public void TheCodeIsACompletePrefixCodeOf257Symbols()
    {
        var codes = Huffman.Codes;
        var lengths = Huffman.CodeLengths;
        Assert.Equal(257, codes.Length);
        Assert.Equal(257, lengths.Length);

        // Kraft: the sum of 2^-length is exactly 1, counted in units of 2^-30.
        long kraft = 0;
        for (var symbol = 0; symbol < 257; symbol++)
        {
            Assert.InRange(lengths[symbol], 5, 30);
            Assert.True(codes[symbol] >> lengths[symbol] == 0, $"code of {symbol} is wider than its length");
            kraft += 1L << (30 - lengths[symbol]);
        }

        Assert.Equal(1L << 30, kraft);

        for (var a = 0; a < 257; a++)
        {
            for (var b = 0; b < 257; b++)
            {
                if (a != b && lengths[a] <= lengths[b])
                {
                    Assert.False(codes[b] >> (lengths[b] - lengths[a]) == codes[a], $"code of {a} is a prefix of the code of {b}");
                }
            }
        }

        Assert.Equal(0x3FFFFFFFu, codes[Huffman.EosSymbol]);
        Assert.Equal(30, lengths[Huffman.EosSymbol]);

        // The decoder's path for codes longer than 11 bits relies on this.
        AssertCanonical();
    }

    [Fact]
    public void TheTableMatchesTheCopyInsideSystemNetHttp()
    {
        var huffman = typeof(HttpClient).Assembly.GetType("System.Net.Http.HPack.Huffman");
        const BindingFlags Static = BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic;
        var codesGetter = huffman?.GetProperty("EncodingTableCodes", Static)?.GetMethod;
        var lengthsGetter = huffman?.GetProperty("EncodingTableBitLengths", Static)?.GetMethod;
        var decode = huffman?.GetMethod("Decode", Static, [typeof(ReadOnlySpan<byte>), typeof(byte[]).MakeByRefType()]);
        if (codesGetter is null || lengthsGetter is null || decode is null)
        {
            // A runtime that moved its copy: check instead the property Appendix B was built with, that the code is
            // canonical (codes of one length are consecutive and in symbol order, each length continuing the last).
            AssertCanonical();
            return;
        }

        // The runtime keeps each code left-aligned in 32 bits.
        var runtimeCodes = codesGetter.CreateDelegate<SpanOfUInt>()();
        var runtimeLengths = lengthsGetter.CreateDelegate<SpanOfByte>()();
        Assert.Equal(257, runtimeCodes.Length);
        for (var symbol = 0; symbol < 257; symbol++)
        {
            Assert.Equal(runtimeLengths[symbol], Huffman.CodeLengths[symbol]);
            Assert.Equal(runtimeCodes[symbol], Huffman.Codes[symbol] << (32 - Huffman.CodeLengths[symbol]));
        }

        // And the runtime's decoder reads what this encoder writes.
        var runtimeDecode = decode.CreateDelegate<RuntimeDecode>();
        var random = new Random(7541);
        for (var round = 0; round < 200; round++)
        {
            var plain = new byte[random.Next(0, 300)];
            random.NextBytes(plain);
            var encoded = new byte[Huffman.GetEncodedLength(plain)];
            Huffman.Encode(plain, encoded);
            var decoded = new byte[1];
            var written = runtimeDecode(encoded, ref decoded);
            Assert.Equal(plain, decoded.AsSpan(0, written).ToArray());
        }
    }

    [Fact]
    public void RoundTripsEveryByteValueAndRandomStrings()
    {
        var every = new byte[256];
        for (var i = 0; i < 256; i++)
        {
            every[i] = (byte)i;
        }

        AssertRoundTrip(every);
        AssertRoundTrip([]);
        var random = new Random(42);
        for (var round = 0; round < 500; round++)
        {
            var plain = new byte[random.Next(0, 200)];
            random.NextBytes(plain);
            AssertRoundTrip(plain);
        }

        // Mostly short codes, as in real header values.
        for (var round = 0; round < 500; round++)
        {
            var plain = new byte[random.Next(0, 200)];
            for (var i = 0; i < plain.Length; i++)
            {
                plain[i] = (byte)random.Next(0x20, 0x7F);
            }

            AssertRoundTrip(plain);
        }
    }

    [Theory]
    [InlineData("ff")] // 8 bits of padding
    [InlineData("07ff")] // '0' then 11 bits of 1s
    [InlineData("ffff")]
    public void RejectsPaddingLongerThanSevenBits(string hex) =>
        AssertRejected(hex, "longer than 7 bits");

    [Theory]
    [InlineData("18")] // 'a' (00011) then 000
    [InlineData("1e")] // 'a' then 110
    [InlineData("f1e3c2e5f23a6ba0ab90f4fe")] // www.example.com with its last padding bit 0
    public void RejectsPaddingThatIsNotAPrefixOfEos(string hex) =>
        AssertRejected(hex, "not a prefix of EOS");

    [Theory]
    [InlineData("ffffffff")] // EOS then 2 bits of padding
    [InlineData("1fffffffff")] // 'a' then EOS then 5 bits of padding
    [InlineData("fffffffc7f")] // EOS then 'a' then 5 bits of padding
    public void RejectsEosInsideTheString(string hex) =>
        AssertRejected(hex, "contains EOS");

    [Fact]
    public void RejectsAStringLongerThanTheDestination()
    {
        var encoded = Convert.FromHexString("a8eb10649cbf"); // no-cache
        var exception = Assert.Throws<HpackException>(() => Huffman.Decode(encoded, new byte[7]));
        Assert.Contains("more bytes than allowed", exception.Message, StringComparison.Ordinal);
        Assert.Equal(8, Huffman.Decode(encoded, new byte[8]));
    }

    private static void AssertRoundTrip(byte[] plain)
    {
        var encoded = new byte[Huffman.GetEncodedLength(plain)];
        Assert.Equal(encoded.Length, Huffman.Encode(plain, encoded));
        var decoded = new byte[(encoded.Length * 8 / 5) + 1];
        var written = Huffman.Decode(encoded, decoded);
        Assert.Equal(plain, decoded.AsSpan(0, written).ToArray());
    }

    private static void AssertRejected(string hex, string reason)
    {
        var encoded = Convert.FromHexString(hex);
        var exception = Assert.Throws<HpackException>(() => Huffman.Decode(encoded, new byte[64]));
        Assert.Contains(reason, exception.Message, StringComparison.Ordinal);
    }

    private static void AssertCanonical()
    {
        uint next = 0;
        var previousLength = 0;
        for (var length = 1; length <= 30; length++)
        {
            for (var symbol = 0; symbol < 257; symbol++)
            {
                if (Huffman.CodeLengths[symbol] == length)
                {
                    next <<= length - previousLength;
                    previousLength = length;
                    Assert.Equal(next, Huffman.Codes[symbol]);
                    next++;
                }
            }
        }
    }

    private delegate ReadOnlySpan<uint> SpanOfUInt();

    private delegate ReadOnlySpan<byte> SpanOfByte();

    private delegate int RuntimeDecode(ReadOnlySpan<byte> source, ref byte[] destination);
}
