namespace Relay.Apns.Http2;

// TEMPORARY stand-in until the real decoder lands; no Huffman.
internal interface IHeaderSink
{
    void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value);
}

internal sealed class HpackException(string message) : Exception(message);

internal sealed class HpackDecoder
{
    private static readonly string[] StaticNames = [":authority", ":method", ":method", ":path", ":path", ":scheme", ":scheme", ":status", ":status", ":status", ":status", ":status", ":status", ":status", "accept-charset", "accept-encoding", "accept-language", "accept-ranges", "accept", "access-control-allow-origin", "age", "allow", "authorization", "cache-control", "content-disposition", "content-encoding", "content-language", "content-length", "content-location", "content-range", "content-type", "cookie", "date", "etag", "expect", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since", "last-modified", "link", "location", "max-forwards", "proxy-authenticate", "proxy-authorization", "range", "referer", "refresh", "retry-after", "server", "set-cookie", "strict-transport-security", "transfer-encoding", "user-agent", "vary", "via", "www-authenticate"];
    private static readonly string[] StaticValues = ["", "GET", "POST", "/", "/index.html", "http", "https", "200", "204", "206", "304", "400", "404", "500", "", "gzip, deflate"];
    private readonly List<(byte[] Name, byte[] Value)> _dynamic = [];
    private int _size;
    private int _max = 4096;

    public void Decode(ReadOnlySpan<byte> block, IHeaderSink sink)
    {
        var i = 0;
        while (i < block.Length)
        {
            var b = block[i];
            if ((b & 0x80) != 0)
            {
                var index = Int(block, ref i, 7);
                var (n, v) = Entry(index);
                sink.OnHeader(n, v);
            }
            else if ((b & 0xC0) == 0x40 || (b & 0xF0) == 0x00 || (b & 0xF0) == 0x10)
            {
                var add = (b & 0xC0) == 0x40;
                var index = Int(block, ref i, add ? 6 : 4);
                var name = index == 0 ? Str(block, ref i) : Entry(index).Name;
                var value = Str(block, ref i);
                sink.OnHeader(name, value);
                if (add)
                {
                    _dynamic.Insert(0, (name, value));
                    _size += name.Length + value.Length + 32;
                    Evict();
                }
            }
            else
            {
                _max = Int(block, ref i, 5);
                Evict();
            }
        }
    }

    private void Evict()
    {
        while (_size > _max && _dynamic.Count > 0)
        {
            var last = _dynamic[^1];
            _size -= last.Name.Length + last.Value.Length + 32;
            _dynamic.RemoveAt(_dynamic.Count - 1);
        }
    }

    private (byte[] Name, byte[] Value) Entry(int index)
    {
        if (index >= 1 && index <= 61)
        {
            return (System.Text.Encoding.ASCII.GetBytes(StaticNames[index - 1]), System.Text.Encoding.ASCII.GetBytes(index <= StaticValues.Length ? StaticValues[index - 1] : ""));
        }

        var d = index - 62;
        if (d < 0 || d >= _dynamic.Count)
        {
            throw new HpackException("bad index");
        }

        return _dynamic[d];
    }

    private static int Int(ReadOnlySpan<byte> s, ref int i, int prefix)
    {
        var max = (1 << prefix) - 1;
        var v = s[i++] & max;
        if (v < max)
        {
            return v;
        }

        var m = 0;
        while (true)
        {
            var b = s[i++];
            v += (b & 0x7F) << m;
            m += 7;
            if ((b & 0x80) == 0)
            {
                return v;
            }
        }
    }

    private static byte[] Str(ReadOnlySpan<byte> s, ref int i)
    {
        if ((s[i] & 0x80) != 0)
        {
            throw new HpackException("huffman not in stub");
        }

        var len = Int(s, ref i, 7);
        var r = s.Slice(i, len).ToArray();
        i += len;
        return r;
    }
}
