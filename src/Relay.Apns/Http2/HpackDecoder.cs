namespace Relay.Apns.Http2;

/// <summary>Receives the fields an <see cref="HpackDecoder"/> decodes; the spans are valid only during the call.</summary>
internal interface IHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}

/// <summary>A header block that cannot be decoded, which is the connection error COMPRESSION_ERROR.</summary>
internal sealed class HpackException(string message) : Exception(message);

/// <summary>
/// Decodes HPACK (RFC 7541) header blocks of one connection, keeping its dynamic table from block to block. The
/// table lives in one byte ring of the advertised size plus a circular array of entries, so adding and evicting
/// entries allocates nothing; Huffman-coded strings are decoded into a scratch buffer that only grows. Not thread-safe:
/// one reader per connection decodes.
/// </summary>
internal sealed class HpackDecoder
{
    // RFC 7541 §4.1: an entry's size is its name's and value's lengths plus 32.
    private const int EntryOverhead = 32;
    private const int InitialScratchLength = 512;

    private readonly int _maxTableSizeSetting;
    private readonly int _maxHeaderListSize;
    private readonly int _scratchLimit;

    // Names and values of the dynamic table's entries, oldest to newest, wrapping around the end. Their bytes never
    // exceed the ring: each entry also counts 32 bytes of overhead against a table size of at most the ring's length.
    private readonly byte[] _ring;
    private int _ringEnd;

    // Circular, _next is where the next entry goes and the newest is just before it; at most one entry per 32 bytes.
    private readonly Entry[] _entries;
    private int _next;
    private int _count;

    private int _tableSize;
    private int _tableMaxSize;
    private byte[] _scratch;

    /// <param name="maxDynamicTableSize">The SETTINGS_HEADER_TABLE_SIZE this side advertised: the largest table the peer may use.</param>
    /// <param name="maxHeaderListSize">The largest header list a block may decode to, counting each field as name + value + 32.</param>
    public HpackDecoder(int maxDynamicTableSize = 4096, int maxHeaderListSize = 65536)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxDynamicTableSize);
        ArgumentOutOfRangeException.ThrowIfNegative(maxHeaderListSize);
        _maxTableSizeSetting = maxDynamicTableSize;
        _maxHeaderListSize = maxHeaderListSize;
        _tableMaxSize = maxDynamicTableSize;
        _ring = new byte[maxDynamicTableSize];
        _entries = new Entry[maxDynamicTableSize / EntryOverhead];
        // Large enough for any field the header list allows and for a whole table entry copied out of the ring.
        _scratchLimit = Math.Max(maxHeaderListSize, maxDynamicTableSize);
        _scratch = new byte[Math.Min(InitialScratchLength, _scratchLimit)];
    }

    /// <summary>The dynamic table's size (RFC 7541 §4.1).</summary>
    public int DynamicTableSize => _tableSize;

    /// <summary>The dynamic table's number of entries.</summary>
    public int DynamicTableCount => _count;

    /// <summary>The dynamic table's maximum size, as the last dynamic table size update set it.</summary>
    public int DynamicTableMaxSize => _tableMaxSize;

    /// <summary>
    /// Decodes one complete header block (HEADERS + CONTINUATION fragments already joined), calling sink for each field in order.
    /// </summary>
    /// <exception cref="HpackException">The block is malformed or its header list is too large.</exception>
    public void Decode(ReadOnlySpan<byte> block, IHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        var position = 0;
        long headerListSize = 0;
        var sizeUpdateAllowed = true;
        while (position < block.Length)
        {
            var first = block[position];
            if (first >= 0x80)
            {
                // §6.1 Indexed Header Field.
                var index = ReadInteger(block, ref position, 7);
                sizeUpdateAllowed = false;
                ReadOnlySpan<byte> name, value;
                if (index == 0)
                {
                    throw new HpackException("Indexed header field with index 0.");
                }
                else if (index <= HpackStaticTable.Count)
                {
                    name = HpackStaticTable.Name(index);
                    value = HpackStaticTable.Value(index);
                }
                else
                {
                    ReadDynamicEntry(index, out name, out value);
                }

                Emit(name, value, sink, ref headerListSize);
            }
            else if (first >= 0x20 && first < 0x40)
            {
                // §6.3 Dynamic Table Size Update, allowed only before the block's first field (§4.2).
                if (!sizeUpdateAllowed)
                {
                    throw new HpackException("Dynamic table size update after a header field.");
                }

                var size = ReadInteger(block, ref position, 5);
                if (size > _maxTableSizeSetting)
                {
                    throw new HpackException($"Dynamic table size update to {size}, above the {_maxTableSizeSetting} advertised.");
                }

                _tableMaxSize = size;
                while (_tableSize > _tableMaxSize)
                {
                    EvictOldest();
                }
            }
            else
            {
                // §6.2.1 with incremental indexing (01), §6.2.2 without indexing (0000), §6.2.3 never indexed (0001).
                var indexing = first >= 0x40;
                var index = ReadInteger(block, ref position, indexing ? 6 : 4);
                sizeUpdateAllowed = false;
                var scratchUsed = 0;
                ReadOnlySpan<byte> name;
                if (index == 0)
                {
                    name = ReadString(block, ref position, ref scratchUsed);
                }
                else if (index <= HpackStaticTable.Count)
                {
                    name = HpackStaticTable.Name(index);
                }
                else
                {
                    // A name about to be indexed is copied out of the ring first: adding the new entry may evict the
                    // one it names (§4.4) and reuse its bytes. The order of the writes makes that overlap harmless
                    // today, but the copy of a short name keeps correctness from resting on it.
                    name = ReadDynamicName(index, copy: indexing, ref scratchUsed);
                }

                var nameInScratch = scratchUsed != 0;
                var value = ReadString(block, ref position, ref scratchUsed);
                if (nameInScratch)
                {
                    // Reading the value may have grown the scratch buffer, which moved the name.
                    name = _scratch.AsSpan(0, name.Length);
                }

                Emit(name, value, sink, ref headerListSize);
                if (indexing)
                {
                    Add(name, value);
                }
            }
        }
    }

    /// <summary>Calls <paramref name="sink"/> for each dynamic table entry, newest (index 62) first.</summary>
    public void VisitDynamicTable(IHeaderSink sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        for (var index = HpackStaticTable.Count + 1; index <= HpackStaticTable.Count + _count; index++)
        {
            ReadDynamicEntry(index, out var name, out var value);
            sink.OnHeader(name, value);
        }
    }

    private void Emit(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, IHeaderSink sink, ref long headerListSize)
    {
        headerListSize += name.Length + value.Length + EntryOverhead;
        if (headerListSize > _maxHeaderListSize)
        {
            throw new HpackException($"Header list larger than {_maxHeaderListSize} bytes.");
        }

        sink.OnHeader(name, value);
    }

    /// <summary>An integer with an N-bit prefix (§5.1); <paramref name="position"/> is at its first byte.</summary>
    private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        var max = (1 << prefixBits) - 1;
        var value = block[position++] & max;
        if (value < max)
        {
            return value;
        }

        long result = value;
        for (var shift = 0; shift <= 28; shift += 7)
        {
            if (position >= block.Length)
            {
                throw new HpackException("Truncated integer.");
            }

            var b = block[position++];
            result += (long)(b & 0x7F) << shift;
            if (result > int.MaxValue)
            {
                throw new HpackException("Integer larger than 2^31 - 1.");
            }

            if ((b & 0x80) == 0)
            {
                return (int)result;
            }
        }

        throw new HpackException("Integer larger than 2^31 - 1.");
    }

    /// <summary>A string literal (§5.2): a slice of the block, or its Huffman decoding in the scratch buffer.</summary>
    private ReadOnlySpan<byte> ReadString(ReadOnlySpan<byte> block, scoped ref int position, scoped ref int scratchUsed)
    {
        if (position >= block.Length)
        {
            throw new HpackException("Truncated header field: string literal missing.");
        }

        var huffman = (block[position] & 0x80) != 0;
        var length = ReadInteger(block, ref position, 7);
        if (length > block.Length - position)
        {
            throw new HpackException("Truncated string literal.");
        }

        var encoded = block.Slice(position, length);
        position += length;
        if (!huffman)
        {
            return encoded;
        }

        // The shortest code has 5 bits; the scratch limit caps what a string can decode to.
        var room = EnsureScratch(scratchUsed, ((long)length * 8) / 5);
        var written = Huffman.Decode(encoded, _scratch.AsSpan(scratchUsed, room));
        var decoded = _scratch.AsSpan(scratchUsed, written);
        scratchUsed += written;
        return decoded;
    }

    /// <summary>Grows the scratch buffer, keeping its first <paramref name="used"/> bytes, and returns the room after them.</summary>
    private int EnsureScratch(int used, long wanted)
    {
        var needed = used + wanted;
        if (needed > _scratch.Length && _scratch.Length < _scratchLimit)
        {
            var grown = new byte[Math.Min(Math.Max(needed, 2L * _scratch.Length), _scratchLimit)];
            _scratch.AsSpan(0, used).CopyTo(grown);
            _scratch = grown;
        }

        return (int)Math.Min(_scratch.Length - used, wanted);
    }

    private ref readonly Entry GetEntry(int index)
    {
        var dynamicIndex = index - HpackStaticTable.Count;
        if (dynamicIndex > _count)
        {
            throw new HpackException($"Index {index} beyond the {HpackStaticTable.Count + _count} entries of the tables.");
        }

        var slot = _next - dynamicIndex;
        return ref _entries[slot < 0 ? slot + _entries.Length : slot];
    }

    private void ReadDynamicEntry(int index, out ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        ref readonly var entry = ref GetEntry(index);
        var length = entry.NameLength + entry.ValueLength;
        ReadOnlySpan<byte> bytes;
        if (entry.Offset + length <= _ring.Length)
        {
            bytes = _ring.AsSpan(entry.Offset, length);
        }
        else
        {
            EnsureScratch(0, length);
            CopyFromRing(entry.Offset, length, _scratch);
            bytes = _scratch.AsSpan(0, length);
        }

        name = bytes[..entry.NameLength];
        value = bytes[entry.NameLength..];
    }

    private ReadOnlySpan<byte> ReadDynamicName(int index, bool copy, scoped ref int scratchUsed)
    {
        ref readonly var entry = ref GetEntry(index);
        if (!copy && entry.Offset + entry.NameLength <= _ring.Length)
        {
            return _ring.AsSpan(entry.Offset, entry.NameLength);
        }

        EnsureScratch(scratchUsed, entry.NameLength);
        var name = _scratch.AsSpan(scratchUsed, entry.NameLength);
        CopyFromRing(entry.Offset, entry.NameLength, name);
        scratchUsed += entry.NameLength;
        return name;
    }

    private void CopyFromRing(int offset, int length, Span<byte> destination)
    {
        var first = Math.Min(length, _ring.Length - offset);
        _ring.AsSpan(offset, first).CopyTo(destination);
        _ring.AsSpan(0, length - first).CopyTo(destination[first..]);
    }

    /// <summary>Adds a field to the dynamic table, evicting the oldest entries to make room for it (§4.4).</summary>
    private void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        var size = (long)name.Length + value.Length + EntryOverhead;
        if (size > _tableMaxSize)
        {
            // Not an error: a field larger than the table empties it and is not added.
            while (_count > 0)
            {
                EvictOldest();
            }

            return;
        }

        while (_tableSize + size > _tableMaxSize)
        {
            EvictOldest();
        }

        if (_count == 0)
        {
            // Starting over at the front makes entries wrap around the end less often.
            _ringEnd = 0;
        }

        var offset = _ringEnd;
        WriteToRing(name);
        WriteToRing(value);
        _entries[_next] = new Entry(offset, name.Length, value.Length);
        _next = _next + 1 == _entries.Length ? 0 : _next + 1;
        _count++;
        _tableSize += (int)size;
    }

    private void WriteToRing(ReadOnlySpan<byte> bytes)
    {
        var first = Math.Min(bytes.Length, _ring.Length - _ringEnd);
        bytes[..first].CopyTo(_ring.AsSpan(_ringEnd));
        bytes[first..].CopyTo(_ring);
        _ringEnd += bytes.Length;
        if (_ringEnd >= _ring.Length)
        {
            _ringEnd -= _ring.Length;
        }
    }

    private void EvictOldest()
    {
        var slot = _next - _count;
        ref readonly var entry = ref _entries[slot < 0 ? slot + _entries.Length : slot];
        _tableSize -= entry.NameLength + entry.ValueLength + EntryOverhead;
        _count--;
    }

    /// <summary>Where an entry's name starts in the ring (its value follows) and both lengths.</summary>
    private readonly record struct Entry(int Offset, int NameLength, int ValueLength);
}
