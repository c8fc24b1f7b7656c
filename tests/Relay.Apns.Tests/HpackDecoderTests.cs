using System.Text;
using Relay.Apns.Http2;

namespace Relay.Apns.Tests;

/// <summary>The HPACK decoder: the examples of RFC 7541 Appendix C, its dynamic table and every malformed block.</summary>
public sealed class HpackDecoderTests
{
    private static readonly (string, string)[] Request1 = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")];
    private static readonly (string, string)[] Request2 = [.. Request1, ("cache-control", "no-cache")];
    private static readonly (string, string)[] Request3 =
        [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")];

    private const string Date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
    private const string Date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
    private const string Location = "https://www.example.com";
    private const string Cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
    private static readonly (string, string)[] Response1 = [(":status", "302"), ("cache-control", "private"), ("date", Date1), ("location", Location)];
    private static readonly (string, string)[] Response2 = [(":status", "307"), ("cache-control", "private"), ("date", Date1), ("location", Location)];
    private static readonly (string, string)[] Response3 =
    [
        (":status", "200"), ("cache-control", "private"), ("date", Date2), ("location", Location),
        ("content-encoding", "gzip"), ("set-cookie", Cookie),
    ];

    // RFC 7541 C.2.1 to C.2.4: one block each, on a fresh decoder.
    [Theory]
    [InlineData("400a637573746f6d2d6b65790d637573746f6d2d686561646572", "custom-key", "custom-header", 55)]
    [InlineData("040c2f73616d706c652f70617468", ":path", "/sample/path", 0)]
    [InlineData("100870617373776f726406736563726574", "password", "secret", 0)]
    [InlineData("82", ":method", "GET", 0)]
    public void DecodesTheRfcLiteralAndIndexedFieldExamplesAndIndexesOnlyWhenAsked(string hex, string name, string value, int tableSize)
    {
        var decoder = new HpackDecoder();
        Assert.Equal([(name, value)], Decode(decoder, hex));
        Assert.Equal(tableSize, decoder.DynamicTableSize);
        Assert.Equal(tableSize == 0 ? [] : new[] { (name, value) }, Table(decoder));
    }

    [Theory]
    [InlineData(false, "828684410f7777772e6578616d706c652e636f6d", "828684be58086e6f2d6361636865",
        "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")]
    [InlineData(true, "828684418cf1e3c2e5f23a6ba0ab90f4ff", "828684be5886a8eb10649cbf",
        "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")]
    public void DecodesTheRfcRequestExamplesWithAndWithoutHuffmanAndKeepsTheDynamicTableAcrossBlocks(
        bool huffman, string first, string second, string third)
    {
        _ = huffman; // C.3 without, C.4 with: the same fields and tables.
        var decoder = new HpackDecoder();

        Assert.Equal(Request1, Decode(decoder, first));
        Assert.Equal([(":authority", "www.example.com")], Table(decoder));
        Assert.Equal(57, decoder.DynamicTableSize);

        Assert.Equal(Request2, Decode(decoder, second));
        Assert.Equal([("cache-control", "no-cache"), (":authority", "www.example.com")], Table(decoder));
        Assert.Equal(110, decoder.DynamicTableSize);

        Assert.Equal(Request3, Decode(decoder, third));
        Assert.Equal([("custom-key", "custom-value"), ("cache-control", "no-cache"), (":authority", "www.example.com")], Table(decoder));
        Assert.Equal(164, decoder.DynamicTableSize);
    }

    [Theory]
    [InlineData(false,
        "4803333032580770726976617465611d4d6f6e2c203231204f637420323031332032303a31333a323120474d546e1768747470733a2f2f7777772e6578616d706c652e636f6d",
        "4803333037c1c0bf",
        "88c1611d4d6f6e2c203231204f637420323031332032303a31333a323220474d54c05a04677a69707738666f6f3d4153444a4b48514b425a584f5157454f50495541585157454f49553b206d61782d6167653d333630303b2076657273696f6e3d31")]
    [InlineData(true,
        "488264025885aec3771a4b6196d07abe941054d444a8200595040b8166e082a62d1bff6e919d29ad171863c78f0b97c8e9ae82ae43d3",
        "4883640effc1c0bf",
        "88c16196d07abe941054d444a8200595040b8166e084a62d1bffc05a839bd9ab77ad94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007")]
    public void DecodesTheRfcResponseExamplesWithAndWithoutHuffmanEvictingFromA256ByteTable(
        bool huffman, string first, string second, string third)
    {
        _ = huffman; // C.5 without, C.6 with.
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);

        Assert.Equal(Response1, Decode(decoder, first));
        Assert.Equal([("location", Location), ("date", Date1), ("cache-control", "private"), (":status", "302")], Table(decoder));
        Assert.Equal(222, decoder.DynamicTableSize);

        // Adding :status 307 evicts :status 302.
        Assert.Equal(Response2, Decode(decoder, second));
        Assert.Equal([(":status", "307"), ("location", Location), ("date", Date1), ("cache-control", "private")], Table(decoder));
        Assert.Equal(222, decoder.DynamicTableSize);

        Assert.Equal(Response3, Decode(decoder, third));
        Assert.Equal([("set-cookie", Cookie), ("content-encoding", "gzip"), ("date", Date2)], Table(decoder));
        Assert.Equal(215, decoder.DynamicTableSize);
    }

    [Fact]
    public void SizeUpdatesAtTheStartOfABlockShrinkAndRestoreTheTable()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, "828684410f7777772e6578616d706c652e636f6d");
        Decode(decoder, "828684be58086e6f2d6361636865");
        Assert.Equal(110, decoder.DynamicTableSize);

        // Two updates in a row are allowed (§4.2): 56 evicts :authority (57), then 71 is the new maximum.
        Assert.Equal([(":method", "GET")], Decode(decoder, "3f19" + "3f28" + "82"));
        Assert.Equal(71, decoder.DynamicTableMaxSize);
        Assert.Equal([("cache-control", "no-cache")], Table(decoder));
        Assert.Equal(53, decoder.DynamicTableSize);

        Assert.Empty(Decode(decoder, "20"));
        Assert.Equal(0, decoder.DynamicTableSize);
        Assert.Empty(Table(decoder));

        // Back to the advertised 4096, which is allowed; the table is usable again.
        Assert.Empty(Decode(decoder, "3fe11f"));
        Assert.Equal(4096, decoder.DynamicTableMaxSize);
        Decode(decoder, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
        Assert.Equal([("custom-key", "custom-header")], Decode(decoder, "be"));
    }

    [Fact]
    public void AFieldLargerThanTheTableEmptiesItAndIsNotAddedButStillDecodes()
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);
        Decode(decoder, Block(b => b.Literal("a", "1").Literal("b", "2")));
        Assert.Equal(2, decoder.DynamicTableCount);

        var large = new string('x', 256 - 32 - 3 + 1); // one byte over, with the name "big"
        Assert.Equal([("big", large)], Decode(decoder, Block(b => b.Literal("big", large))));
        Assert.Equal(0, decoder.DynamicTableCount);
        Assert.Equal(0, decoder.DynamicTableSize);

        // Exactly the table's size fits, alone.
        Decode(decoder, Block(b => b.Literal("a", "1")));
        var exact = new string('y', 256 - 32 - 3);
        Decode(decoder, Block(b => b.Literal("fit", exact)));
        Assert.Equal([("fit", exact)], Table(decoder));
        Assert.Equal(256, decoder.DynamicTableSize);
    }

    [Fact]
    public void ANewEntryKeepsTheNameOfTheEntryItsAdditionEvicts()
    {
        // RFC 7541 §4.4: the referenced entry is evicted before the new one is written over its bytes.
        var decoder = new HpackDecoder(maxDynamicTableSize: 128);
        var value = new string('v', 40);
        Decode(decoder, Block(b => b.Literal("x-long-name", value)));
        var other = new string('w', 40);

        Assert.Equal([("x-long-name", other)], Decode(decoder, Block(b => b.LiteralWithDynamicName(62, other, indexing: true))));
        Assert.Equal([("x-long-name", other)], Table(decoder));
        Assert.Equal(11 + 40 + 32, decoder.DynamicTableSize);
    }

    // In a 256-byte ring, the first entry takes bytes 0-99 and the second 100 onwards; once the first is evicted the
    // third starts after the second and runs past the end: in its value, in its name, or at the boundary between.
    [Theory]
    [InlineData(80, 10, 80)]
    [InlineData(92, 70, 10)]
    [InlineData(86, 70, 10)]
    [InlineData(56, 110, 10)]
    public void EntriesThatWrapAroundTheEndOfTheRingReadBackWhole(int secondLength, int thirdNameLength, int thirdValueLength)
    {
        var decoder = new HpackDecoder(maxDynamicTableSize: 256);
        var first = ("first-name", new string('1', 90));
        var second = ("second-nam", new string('2', secondLength - 10));
        var third = (new string('n', thirdNameLength), new string('3', thirdValueLength));
        Decode(decoder, Block(b => b.Literal(first.Item1, first.Item2).Literal(second.Item1, second.Item2)));
        Assert.Equal(2, decoder.DynamicTableCount);

        Decode(decoder, Block(b => b.Literal(third.Item1, third.Item2)));
        Assert.Equal([third, second], Table(decoder));

        // Indexed, as a referenced name and as a referenced name to index again (which copies it).
        Assert.Equal([third, second], Decode(decoder, "bebf"));
        Assert.Equal([(third.Item1, "x")], Decode(decoder, Block(b => b.LiteralWithDynamicName(62, "x", indexing: false))));
        Assert.Equal([(third.Item1, "y")], Decode(decoder, Block(b => b.LiteralWithDynamicName(62, "y", indexing: true))));
        List<(string Name, string Value)> expected = [third];
        Add(expected, 256, third.Item1, "y"); // in the last case this evicts the entry whose name it took
        Assert.Equal(expected, Table(decoder));
    }

    [Theory]
    [InlineData(256)]
    [InlineData(300)]
    [InlineData(4096)]
    [InlineData(31)]
    public void KeepsTheSameTableAsASimpleModelThroughThousandsOfRandomBlocks(int tableSize)
    {
        var random = new Random(tableSize);
        var decoder = new HpackDecoder(maxDynamicTableSize: tableSize);
        var model = new List<(string Name, string Value)>();
        var modelMax = tableSize;
        for (var round = 0; round < 3000; round++)
        {
            var expected = new List<(string, string)>();
            var builder = new BlockBuilder();
            if (random.Next(10) == 0)
            {
                modelMax = random.Next(tableSize + 1);
                builder.SizeUpdate(modelMax);
                Evict(model, modelMax, 0);
            }

            for (var field = random.Next(1, 6); field > 0; field--)
            {
                var huffman = random.Next(2) == 0;
                var value = RandomText(random, random.Next(0, 120));
                switch (random.Next(5))
                {
                    case 0 when model.Count > 0:
                        var index = random.Next(model.Count);
                        builder.Indexed(62 + index);
                        expected.Add(model[index]);
                        break;
                    case 1 when model.Count > 0:
                        var named = random.Next(model.Count);
                        var indexing = random.Next(2) == 0;
                        var name = model[named].Name;
                        builder.LiteralWithDynamicName(62 + named, value, indexing, huffman);
                        expected.Add((name, value));
                        if (indexing)
                        {
                            Add(model, modelMax, name, value);
                        }

                        break;
                    case 2:
                        builder.LiteralWithStaticName(24, value, huffman);
                        expected.Add(("cache-control", value));
                        Add(model, modelMax, "cache-control", value);
                        break;
                    default:
                        var literalName = RandomText(random, random.Next(0, 40));
                        builder.Literal(literalName, value, huffman);
                        expected.Add((literalName, value));
                        Add(model, modelMax, literalName, value);
                        break;
                }
            }

            Assert.Equal(expected, Decode(decoder, builder.ToArray()));
            Assert.Equal(model, Table(decoder));
            Assert.Equal(model.Sum(e => e.Name.Length + e.Value.Length + 32), decoder.DynamicTableSize);
        }
    }

    [Fact]
    public void RejectsIndexZero()
    {
        AssertRejected(new HpackDecoder(), "80", "index 0");
    }

    [Theory]
    [InlineData("be")] // 62 with an empty dynamic table
    [InlineData("ff00")] // 127
    [InlineData("7e00")] // a literal whose name is entry 62
    [InlineData("0f2f00")] // 62 as a 4-bit prefix
    public void RejectsAnIndexBeyondTheTables(string hex)
    {
        AssertRejected(new HpackDecoder(), hex, "beyond");
    }

    [Fact]
    public void RejectsAnIndexOneBeyondTheNewestEntry()
    {
        var decoder = new HpackDecoder();
        Decode(decoder, "400a637573746f6d2d6b65790d637573746f6d2d686561646572");
        Assert.Equal([("custom-key", "custom-header")], Decode(decoder, "be"));
        AssertRejected(decoder, "bf", "beyond");
    }

    [Theory]
    [InlineData(4096, "3fe21f")] // 4097
    [InlineData(256, "3fe201")] // 257
    [InlineData(0, "21")]
    public void RejectsASizeUpdateAboveTheAdvertisedSize(int advertised, string hex)
    {
        AssertRejected(new HpackDecoder(maxDynamicTableSize: advertised), hex, "above");
    }

    [Theory]
    [InlineData("8220")]
    [InlineData("2082203f")]
    [InlineData("040c2f73616d706c652f7061746820")]
    public void RejectsASizeUpdateAfterAField(string hex)
    {
        AssertRejected(new HpackDecoder(), hex, "after a header field");
    }

    [Theory]
    [InlineData("ff")] // indexed, prefix full, no continuation byte
    [InlineData("ff80")] // a continuation byte that promises more
    [InlineData("40ff")] // a name length that stops short
    [InlineData("3fe1")] // size update
    public void RejectsATruncatedInteger(string hex)
    {
        AssertRejected(new HpackDecoder(), hex, "Truncated integer");
    }

    [Theory]
    [InlineData("400a6375", "Truncated string literal")] // name of 10 bytes, 2 there
    [InlineData("400a637573746f6d2d6b6579", "string literal missing")] // no value
    [InlineData("400a637573746f6d2d6b65790d6375", "Truncated string literal")]
    [InlineData("0f0d", "string literal missing")]
    [InlineData("00", "string literal missing")]
    [InlineData("0086f1e3", "Truncated string literal")] // Huffman name cut short
    public void RejectsATruncatedString(string hex, string reason)
    {
        AssertRejected(new HpackDecoder(), hex, reason);
    }

    [Theory]
    [InlineData("ffffffffff0f")] // 127 + 2^28 - 1 + 15 * 2^28
    [InlineData("ff81ffffff07")] // 2^31 exactly
    [InlineData("ff8080808080")] // more continuation bytes than 31 bits need
    [InlineData("00ffffffffff07")] // a string length
    public void RejectsAnIntegerThatOverflows(string hex)
    {
        AssertRejected(new HpackDecoder(), hex, "larger than 2^31 - 1");
    }

    [Fact]
    public void AcceptsTheLargestIntegerThatFitsButNotAsAnIndex()
    {
        // 127 + 0x7fffff80 = 2^31 - 1.
        AssertRejected(new HpackDecoder(), "ff80ffffff07", "beyond");
    }

    [Theory]
    [InlineData("0081ff00", "longer than 7 bits")] // a name that is only padding, 8 bits of it
    [InlineData("008118", "not a prefix of EOS")] // 'a' then 000
    [InlineData("0001618118", "not a prefix of EOS")] // in the value
    public void RejectsBadHuffmanPadding(string hex, string reason)
    {
        AssertRejected(new HpackDecoder(), hex, reason);
    }

    [Fact]
    public void RejectsEosInAHuffmanString()
    {
        AssertRejected(new HpackDecoder(), "000161" + "84ffffffff", "contains EOS");
    }

    [Fact]
    public void RejectsAHeaderListLargerThanTheLimit()
    {
        // :method GET counts 7 + 3 + 32 = 42.
        Assert.Equal([(":method", "GET")], Decode(new HpackDecoder(maxHeaderListSize: 42), "82"));
        AssertRejected(new HpackDecoder(maxHeaderListSize: 41), "82", "Header list larger");
        AssertRejected(new HpackDecoder(maxHeaderListSize: 100), "828684410f7777772e6578616d706c652e636f6d", "Header list larger");

        // One Huffman string that decodes past the limit, sized to be rejected while decoding rather than after.
        var decoder = new HpackDecoder(maxDynamicTableSize: 0, maxHeaderListSize: 1000);
        AssertRejected(decoder, Block(b => b.Literal("x", new string('0', 2000), huffman: true, indexing: false)), "more bytes than allowed");
        AssertRejected(decoder, Block(b => b.Literal("x", new string('0', 990), huffman: true, indexing: false)), "Header list larger");
    }

    [Fact]
    public void DecodingATypicalApnsResponseAllocatesNothingAfterWarmUp()
    {
        // :status 200, apns-id added to the table, apns-unique-id never indexed, then a block reusing apns-id's name.
        var first = Block(b => b
            .Indexed(8)
            .Literal("apns-id", "eabeae54-14a8-11e5-b60b-1697f925ec7b", huffman: true)
            .Literal("apns-unique-id", "a8f3c1e0-7b2d-4e5f-9c6a-1d2e3f4a5b6c", huffman: true, indexing: false));
        var second = Block(b => b
            .Indexed(8)
            .LiteralWithDynamicName(62, "0f7e7d2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b", indexing: true, huffman: true)
            .Indexed(63));
        var decoder = new HpackDecoder();
        var sink = new CountingSink();
        for (var i = 0; i < 200; i++)
        {
            decoder.Decode(first, sink);
            decoder.Decode(second, sink);
        }

        sink.Bytes = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            decoder.Decode(first, sink);
            decoder.Decode(second, sink);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1000 * ((10 + 7 + 36 + 14 + 36) + (10 + 7 + 36 + 7 + 36)), sink.Bytes);
    }

    [Fact]
    public void AnEmptyBlockDecodesToNoFields()
    {
        Assert.Empty(Decode(new HpackDecoder(), ""));
    }

    private static List<(string, string)> Decode(HpackDecoder decoder, string hex) => Decode(decoder, Convert.FromHexString(hex));

    private static List<(string, string)> Decode(HpackDecoder decoder, byte[] block)
    {
        var sink = new CollectingSink();
        decoder.Decode(block, sink);
        return sink.Fields;
    }

    private static List<(string, string)> Table(HpackDecoder decoder)
    {
        var sink = new CollectingSink();
        decoder.VisitDynamicTable(sink);
        return sink.Fields;
    }

    private static void AssertRejected(HpackDecoder decoder, string hex, string reason) =>
        AssertRejected(decoder, Convert.FromHexString(hex), reason);

    private static void AssertRejected(HpackDecoder decoder, byte[] block, string reason)
    {
        var exception = Assert.Throws<HpackException>(() => decoder.Decode(block, new CollectingSink()));
        Assert.Contains(reason, exception.Message, StringComparison.Ordinal);
    }

    private static byte[] Block(Action<BlockBuilder> build)
    {
        var builder = new BlockBuilder();
        build(builder);
        return builder.ToArray();
    }

    private static void Add(List<(string Name, string Value)> model, int max, string name, string value)
    {
        var size = name.Length + value.Length + 32;
        Evict(model, max, size);
        if (size <= max)
        {
            model.Insert(0, (name, value));
        }
    }

    private static void Evict(List<(string Name, string Value)> model, int max, int room)
    {
        while (model.Count > 0 && model.Sum(e => e.Name.Length + e.Value.Length + 32) + room > max)
        {
            model.RemoveAt(model.Count - 1);
        }
    }

    private static string RandomText(Random random, int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = (char)random.Next(0x20, 0x7F);
        }

        return new string(chars);
    }

    /// <summary>Writes header blocks field by field, as a peer's encoder would.</summary>
    private sealed class BlockBuilder
    {
        private readonly List<byte> _bytes = [];

        public BlockBuilder Indexed(int index)
        {
            Integer(index, 7, 0x80);
            return this;
        }

        public BlockBuilder SizeUpdate(int size)
        {
            Integer(size, 5, 0x20);
            return this;
        }

        public BlockBuilder Literal(string name, string value, bool huffman = false, bool indexing = true)
        {
            _bytes.Add(indexing ? (byte)0x40 : (byte)0x00);
            String(name, huffman);
            String(value, huffman);
            return this;
        }

        public BlockBuilder LiteralWithStaticName(int index, string value, bool huffman = false)
        {
            Integer(index, 6, 0x40);
            String(value, huffman);
            return this;
        }

        public BlockBuilder LiteralWithDynamicName(int index, string value, bool indexing, bool huffman = false)
        {
            if (indexing)
            {
                Integer(index, 6, 0x40);
            }
            else
            {
                Integer(index, 4, 0x10); // never indexed
            }

            String(value, huffman);
            return this;
        }

        public byte[] ToArray() => [.. _bytes];

        private void Integer(int value, int prefixBits, byte pattern)
        {
            var max = (1 << prefixBits) - 1;
            if (value < max)
            {
                _bytes.Add((byte)(pattern | value));
                return;
            }

            _bytes.Add((byte)(pattern | max));
            value -= max;
            while (value >= 0x80)
            {
                _bytes.Add((byte)((value & 0x7F) | 0x80));
                value >>= 7;
            }

            _bytes.Add((byte)value);
        }

        private void String(string text, bool huffman)
        {
            var plain = Encoding.ASCII.GetBytes(text);
            if (!huffman)
            {
                Integer(plain.Length, 7, 0x00);
                _bytes.AddRange(plain);
                return;
            }

            var encoded = new byte[Huffman.GetEncodedLength(plain)];
            Huffman.Encode(plain, encoded);
            Integer(encoded.Length, 7, 0x80);
            _bytes.AddRange(encoded);
        }
    }

    private sealed class CollectingSink : IHeaderSink
    {
        public List<(string, string)> Fields { get; } = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
            Fields.Add((Encoding.ASCII.GetString(name), Encoding.ASCII.GetString(value)));
    }

    private sealed class CountingSink : IHeaderSink
    {
        public long Bytes { get; set; }

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Bytes += name.Length + value.Length;
    }
}
