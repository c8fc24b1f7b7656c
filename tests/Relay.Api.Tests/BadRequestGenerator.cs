using System.Text;
using System.Text.Json;

namespace Relay.Api.Tests;

/// <summary>One generated request: what to send, and which faults make it bad.</summary>
public sealed record GeneratedRequest(
    string Method, string Path, string? Authorization, string? ContentType, byte[]? Body,
    IReadOnlyList<(string Name, string Value)> Headers, string Faults, bool IsHealth)
{
    /// <summary>The request for a failure report: method, path, headers (bearer kind only), body prefix.</summary>
    public string Describe()
    {
        var body = Body is null ? "(none)" : Escape(Body.AsSpan(0, Math.Min(Body.Length, 240)));
        var headers = string.Join("; ", Headers.Select(h => $"{h.Name}: {h.Value[..Math.Min(h.Value.Length, 60)]}"));
        return $"{Method} {Path} [{Faults}] Authorization: {Authorization?[..Math.Min(Authorization.Length, 20)] ?? "(none)"}… "
            + $"Content-Type: {ContentType ?? "(none)"} {headers} body ({Body?.Length ?? 0} bytes): {body}";
    }

    private static string Escape(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        foreach (var b in bytes)
        {
            text.Append(b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return text.ToString();
    }
}

/// <summary>The accounts and bearers a generator draws on; none of its requests may be one the relay should accept.</summary>
public sealed record GeneratorContext(
    Guid Me, Guid Recipient, Guid Gone, string ValidBearer, string ExpiredBearer, string ForeignBearer, string GoneBearer);

/// <summary>
/// A seeded generator of bad requests over every endpoint. Each request carries at least one fault that makes it bad
/// whatever else it holds (a bearer the relay must refuse, a content type it must refuse, a body it cannot read, or a
/// field value it must reject), plus decorations that change nothing (extra fields, whitespace, UTF-8 spellings, junk
/// headers and queries). Health probes are the exception: junk around them must still answer 200.
/// </summary>
public sealed class BadRequestGenerator(int seed, GeneratorContext context)
{
    private readonly Random _random = new(seed);

    private static readonly string[] RefusedContentTypes =
    [
        "", "text/plain", "text/json", "application/xml", "application/problem+json", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/json; charset=", "application/json; charset=bogus",
        "application/json; charset=utf-7", "application/json; charset=utf-16", "application/json; charset=\"utf-8",
        "application/json; charset=iso-8859-1", "application/json; charset=utf-8; charset=latin1", "garbage", "*/*",
        "application/jsonx", "application/json, text/plain", ";", "application/",
    ];

    private static readonly string[] AcceptedContentTypes =
    [
        "application/json", "application/json; charset=utf-8", "application/json; charset=UTF-8",
        "application/json; charset=\"utf-8\"", "application/json;charset=utf8", "APPLICATION/JSON; CHARSET=\"UTF-8\"",
    ];

    private static readonly string[] GarbageBodies =
    [
        "", " ", "null", "true", "123", "\"text\"", "[]", "[{}]", "hello", "<xml/>", "{'identityKey':'x'}", "{\"a\":1,}",
        "{\"a\":NaN}", "{/*c*/}", "{a:1}", "{\"a\"}", "{\"a\":}", "{{}}", "}", "{", "[", "\"", "\\u0000", "{\"a\":\"\\q\"}",
        "{\"a\":\"\\uZZZZ\"}", "{\"a\":01}", "{\"a\":1e}", "{\"a\":-}", "{\"a\":.5}", "{\"a\":+1}", "{\"a\":tru}",
    ];

    public GeneratedRequest Next()
    {
        var roll = _random.Next(100);
        return roll switch
        {
            < 14 => Body("POST", "/v1/accounts", authenticated: false, Accounts()),
            < 24 => Body("POST", "/v1/auth/challenge", authenticated: false, Challenge()),
            < 34 => Body("POST", "/v1/auth/token", authenticated: false, Token()),
            < 50 => Body("POST", "/v1/devices", authenticated: true, Devices()),
            < 66 => Body("POST", "/v1/messages", authenticated: true, Messages()),
            < 70 => Body("POST", "/v1/messages/sealed", authenticated: false, Messages()),
            < 76 => NoBody("GET", "/v1/devices", requireFault: true),
            < 82 => NoBody("DELETE", "/v1/devices/" + PathId(), requireFault: false),
            < 88 => NoBody("GET", "/v1/messages/" + PathId(), requireFault: false),
            < 91 => Body("PUT", "/v1/accounts/me/delivery", authenticated: true, DeliveryKey()),
            < 94 => Health(),
            _ => Stray(),
        };
    }

    // A field: its JSON name, a valid value (raw JSON), whether it is required, and values that make it wrong.
    private sealed record Field(string Name, string Valid, bool Required, Func<string[]> Wrong);

    private Field[] Accounts() =>
    [
        new("identityKey", Str(B64(32)), true, () =>
        [
            Str(""), Str("not base64!"), Str(B64(31)), Str(B64(33)), Str(B64(32).TrimEnd('=')), Str(B64(32) + "="),
            Str(string.Concat(Enumerable.Repeat("-_", 21)) + "8="), Str(B64(16) + " " + B64(16)), Str(B64(32)[..20] + "\n" + B64(32)[20..]),
            Str(new string('A', 1000)), Str(new string('é', 44)), Str(B64(64)),
        ]),
    ];

    private Field[] Challenge() =>
    [
        new("accountId", Str(context.Me.ToString()), true, () =>
        [
            Str("not-a-guid"), Str(""), Str(Guid.NewGuid().ToString()[..35]), Str(Guid.NewGuid().ToString() + "0"),
            Str(RandomGuid().ToString()), Str(context.Gone.ToString()), Str(Guid.Empty.ToString()), Str(context.Me.ToString("N") + "zz"),
        ]),
    ];

    private Field[] Token() =>
    [
        new("accountId", Str(context.Me.ToString()), true, () => [Str("x"), Str(RandomGuid().ToString()), Str(context.Gone.ToString()), "42"]),
        new("challenge", Str(B64(32)), true, () => [Str(""), Str(B64(31)), Str(B64(33)), Str("%%%"), Str(B64(32)[..43])]),
        new("signature", Str(B64(64)), true, () => [Str(""), Str(B64(63)), Str(B64(65)), Str("sig"), Str(B64(64).Replace('=', '.'))]),
    ];

    private Field[] Devices() =>
    [
        new("token", Str(Hex(32)), true, () =>
        [
            Str(Hex(32) + "a"), Str(new string('g', 64)), Str(Hex(15)), Str(Hex(257)), Str(""), Str(Hex(16) + " " + Hex(15)),
            Str("0x" + Hex(31)), Str(new string('٣', 64)), Str(Hex(32)[..63] + "\n"), Str(Hex(31) + "éé"),
        ]),
        new("topic", Str(RelayFactory.ChatTopic), true, () => [Str("com.evil.app"), Str(""), Str(RelayFactory.ChatTopic + "\n"), Str(" " + RelayFactory.ChatTopic), Str(new string('t', 300))]),
        new("environment", Str("production"), true, () => [Str("staging"), Str(""), Str("Production"), Str(" production"), Str("sandbox\u0000")]),
    ];

    private Field[] Messages() =>
    [
        new("to", $"[{Str(context.Recipient.ToString())}]", true, () =>
        [
            "[]", $"[{string.Join(',', Enumerable.Range(0, 65).Select(_ => Str(Guid.NewGuid().ToString())))}]",
            $"[{Str(context.Recipient.ToString())},{Str(context.Recipient.ToString())}]", "[\"x\"]", $"[{Str(RandomGuid().ToString())}]",
            $"[{Str(context.Recipient.ToString())},{Str(RandomGuid().ToString())}]", $"[{Str(context.Gone.ToString())}]", "[123]", "[null]", "[[]]",
            "[{}]", "[{\"accountId\":null}]", "[{\"accountId\":123}]", $"[{{\"deliveryKey\":{Str(B64(32))}}}]",
            $"[{{\"accountId\":{Str(context.Recipient.ToString())},\"deliveryKey\":{Str(B64(15))}}}]",
            $"[{{\"accountId\":{Str(context.Recipient.ToString())},\"deliveryKey\":{Str(B64(33))}}}]",
            $"[{{\"accountId\":{Str(context.Recipient.ToString())},\"deliveryKey\":42}}]",
            $"[{{\"accountId\":{Str(context.Recipient.ToString())}}},{Str(context.Recipient.ToString())}]",
        ]),
        new("ciphertext", Str(B64(40)), true, () =>
        [
            Str(""), Str("abc"), Str("AAAA AAAA"), Str("-_-_"), Str("AAAA\n"), Str("AAA=A==="), Str(B64(4000)), Str(B64(40).TrimEnd('=')),
        ]),
        new("ttlSeconds", "60", false, () => ["-1", "2592001", "1e400", "1.5", "\"60\"", "true", "99999999999999999999", "[]", "{}"]),
        new("collapseId", Str("c-1"), false, () =>
        [
            Str("é"), Str("a\r\nb"), Str("a\nb"), Str("\u0000"), Str(" "), Str(new string('c', 65)), Str(""), Str("a\tb"), Str("\u007f"), "1", "[]",
        ]),
    ];

    private Field[] DeliveryKey() =>
    [
        new("key", Str(B64(32)), true, () => [Str(""), Str(B64(15)), Str(B64(33)), Str("not base64"), Str("-_-_-_-_-_-_-_-_-_-_-_-_"), "16", "null", "{}"]),
        new("required", "true", false, () => ["\"true\"", "1", "[]", "{}"]),
    ];

    private static char JsonKind(string json) => json[0] switch
    {
        't' or 'f' => 'b',
        '-' or (>= '0' and <= '9') => '0',
        var c => c,
    };

    private GeneratedRequest Body(string method, string path, bool authenticated, Field[] fields)
    {
        var faults = new List<string>();
        var headers = new List<(string, string)>();
        var authorization = authenticated ? "Bearer " + context.ValidBearer : null;
        if (authenticated && _random.Next(3) == 0)
        {
            authorization = BadBearer(faults);
        }
        else if (!authenticated && _random.Next(4) == 0)
        {
            // Anonymous endpoints ignore a bearer; a bad one must not make a bad body good.
            authorization = BadBearer([]);
        }

        // The body fault every anonymous request and every well-authenticated one must carry.
        var values = fields.Select(f => (f.Name, Value: (string?)f.Valid)).ToList();
        string? contentType = Pick(AcceptedContentTypes);
        byte[]? rawBody = null;
        var mustFault = faults.Count == 0 && path != "/v1/auth/token";
        var count = mustFault || _random.Next(2) == 0 ? 1 + (_random.Next(4) == 0 ? 1 : 0) : 0;
        var oversized = false;
        for (var i = 0; i < count; i++)
        {
            switch (_random.Next(9))
            {
                case 0:
                    contentType = _random.Next(6) == 0 ? null : Pick(RefusedContentTypes);
                    faults.Add($"content type {contentType ?? "(none)"}");
                    break;
                case 1 or 2:
                    var field = Pick(fields);
                    var wrong = Pick(field.Wrong());
                    values[Array.IndexOf(fields, field)] = (field.Name, wrong);
                    faults.Add($"{field.Name} = {wrong[..Math.Min(wrong.Length, 40)]}");
                    break;
                case 3:
                    var typed = Pick(fields);
                    var type = Pick(typed.Required
                        ? ["1", "true", "{}", "[1]", "null", "-0.5", "1e999"]
                        : new[] { "true", "{}", "[1]" }.Where(t => JsonKind(t) != JsonKind(typed.Valid)).ToArray());
                    if (typed.Name == "to" && type == "[1]")
                    {
                        type = "\"" + context.Recipient + "\"";
                    }

                    values[Array.IndexOf(fields, typed)] = (typed.Name, type);
                    faults.Add($"{typed.Name} of the wrong type");
                    break;
                case 4:
                    var required = fields.Where(f => f.Required).ToArray();
                    var missing = Pick(required);
                    values[Array.IndexOf(fields, missing)] = (missing.Name, null);
                    faults.Add($"{missing.Name} missing");
                    break;
                case 5:
                    rawBody = Encoding.UTF8.GetBytes(Pick(GarbageBodies));
                    faults.Add("garbage body");
                    break;
                case 6:
                    oversized = _random.Next(3) == 0;
                    if (oversized)
                    {
                        faults.Add("oversized");
                    }
                    else
                    {
                        rawBody = [0xFF];
                        faults.Add("structure");
                    }

                    break;
                default:
                    faults.Add("structure");
                    rawBody = [0xFF];
                    break;
            }
        }

        var json = Serialize(values, decorate: _random.Next(2) == 0);
        if (oversized)
        {
            json = json[..^1] + $",\"x_pad\":\"{new string('p', path == "/v1/messages" ? 17_000 : 66_000)}\"}}";
        }

        var body = Encoding.UTF8.GetBytes(json);
        if (rawBody is [0xFF])
        {
            body = Structure(body, faults);
        }
        else if (rawBody is not null)
        {
            body = rawBody;
        }

        if (path == "/v1/messages" && _random.Next(8) == 0)
        {
            var key = Pick(new[] { "", "a b", new string('k', 256), "\t", "a\"b c" });
            headers.Add(("Idempotency-Key", key));
            faults.Add("bad Idempotency-Key");
        }

        Decorate(headers);
        return new GeneratedRequest(method, path + Query(), authorization, contentType, body, headers, string.Join(", ", faults), false);
    }

    private GeneratedRequest NoBody(string method, string path, bool requireFault)
    {
        var faults = new List<string>();
        var authorization = requireFault || _random.Next(2) == 0 ? BadBearer(faults) : "Bearer " + context.ValidBearer;
        if (faults.Count == 0)
        {
            faults.Add("no such resource of the caller");
        }

        var headers = new List<(string, string)>();
        Decorate(headers);
        return new GeneratedRequest(method, path + Query(), authorization, null, null, headers, string.Join(", ", faults), false);
    }

    private GeneratedRequest Health()
    {
        var headers = new List<(string, string)>();
        Decorate(headers);
        var authorization = _random.Next(2) == 0 ? BadBearer([]) : null;
        return new GeneratedRequest("GET", Pick(["/health/live", "/health/ready"]) + Query(), authorization, null, null, headers, "health probe", true);
    }

    private GeneratedRequest Stray()
    {
        var (method, path) = Pick(new[]
        {
            ("GET", "/v1/nothing"), ("PUT", "/v1/messages"), ("PATCH", "/v1/devices"), ("GET", "/v1/accounts"), ("DELETE", "/v1/accounts/me/x"),
            ("POST", "/v1/devices/" + Hex(32)), ("GET", "/v1/messages/" + new string('a', 300)), ("GET", "/v1/devices/x/y"),
            ("POST", "/health/live"), ("GET", "/v1/auth/token"), ("PUT", "/v1/accounts"), ("GET", "/v2/messages"),
        });
        var headers = new List<(string, string)>();
        Decorate(headers);
        var body = method is "GET" or "DELETE" ? null : Encoding.UTF8.GetBytes(Serialize([("x_any", Str("y"))], decorate: false));
        return new GeneratedRequest(method, path + Query(), _random.Next(2) == 0 ? "Bearer " + context.ValidBearer : BadBearer([]),
            body is null ? null : "application/json", body, headers, "no such endpoint", false);
    }

    /// <summary>A bearer the relay must refuse, naming its fault.</summary>
    private string? BadBearer(List<string> faults)
    {
        var (name, value) = _random.Next(13) switch
        {
            0 => ("no bearer", (string?)null),
            1 => ("bearer scheme only", "Bearer"),
            2 => ("empty bearer", "Bearer "),
            3 => ("garbage bearer", "Bearer " + Pick(new[] { "garbage", "a.b.c", "...", "e30.e30.", "null", "Bearer x" })),
            4 => ("random JWT-shaped bearer", $"Bearer {Url(20)}.{Url(60)}.{Url(32)}"),
            5 => ("basic scheme", "Basic dXNlcjpwYXNz"),
            6 => ("expired bearer", "Bearer " + context.ExpiredBearer),
            7 => ("foreign bearer", "Bearer " + context.ForeignBearer),
            8 or 9 => ("bearer of a deleted account", "Bearer " + context.GoneBearer),
            10 => ("tampered bearer", "Bearer " + Tamper(context.ValidBearer)),
            11 => ("long garbage bearer", "Bearer " + new string('x', 4000)),
            _ => ("bearer with a suffix", "Bearer " + context.ValidBearer + Pick(new[] { "x", ".x", "%" })),
        };
        faults.Add(name);
        return value;
    }

    private static string Tamper(string token)
    {
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlDecode(parts[1]));
        payload = payload.Replace("\"sub\":\"", "\"sub\":\"0", StringComparison.Ordinal);
        return $"{parts[0]}.{Convert.ToBase64String(Encoding.UTF8.GetBytes(payload)).TrimEnd('=').Replace('+', '-').Replace('/', '_')}.{parts[2]}";
    }

    private static byte[] Base64UrlDecode(string text)
    {
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - padded.Length % 4) % 4));
    }

    /// <summary>A structural fault that no JSON reader accepts.</summary>
    private byte[] Structure(byte[] json, List<string> faults)
    {
        switch (_random.Next(6))
        {
            case 0:
                faults[^1] = "truncated";
                return json[.._random.Next(json.Length)];
            case 1:
                faults[^1] = "invalid UTF-8";
                var at = Math.Max(0, Array.IndexOf(json, (byte)':') + 2);
                byte[] bad = Pick(new[] { new byte[] { 0xC3, 0x28 }, [0xFF], [0xED, 0xA0, 0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xC0, 0xAF] });
                return [.. json[..Math.Min(at, json.Length)], .. bad, .. json[Math.Min(at, json.Length)..]];
            case 2:
                faults[^1] = "deep nesting";
                var depth = 65 + _random.Next(2000);
                return Encoding.UTF8.GetBytes("{\"x_deep\":" + new string('[', depth) + new string(']', depth) + "," + Encoding.UTF8.GetString(json)[1..]);
            case 3:
                faults[^1] = "trailing garbage";
                return [.. json, .. Encoding.UTF8.GetBytes(Pick(new[] { "x", ",", "}", "{}", "\"", "]" }))];
            case 4:
                faults[^1] = "trailing comma";
                return [.. json[..^1], .. ",}"u8];
            default:
                faults[^1] = "single-quoted";
                return Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(json).Replace('"', '\''));
        }
    }

    private string Serialize(List<(string Name, string? Value)> values, bool decorate)
    {
        var members = values.Where(v => v.Value is not null).Select(v => $"\"{v.Name}\":{v.Value}").ToList();
        if (decorate)
        {
            // Fields the relay does not know, under names no real field has in any case.
            var extra = _random.Next(1, 4);
            for (var i = 0; i < extra; i++)
            {
                members.Insert(_random.Next(members.Count + 1), $"\"x_{_random.Next(1000)}\":{Pick(new[] { "1", "null", "\"v\"", "[1,2]", "{\"a\":{}}", "1e308", "-0" })}");
            }
        }

        var separator = decorate && _random.Next(2) == 0 ? " ,\n  " : ",";
        return "{" + string.Join(separator, members) + "}";
    }

    private void Decorate(List<(string, string)> headers)
    {
        if (_random.Next(4) == 0)
        {
            headers.Add(("X-Junk", Pick(new[] { "", new string('j', 2000), "%00", "() <>@,;:\\\"/[]?={}" })));
        }

        if (_random.Next(6) == 0)
        {
            headers.Add(("Accept", Pick(new[] { "text/html", "*/*", "application/xml", "garbage" })));
        }
    }

    private string Query() => _random.Next(5) switch
    {
        0 => "?access_token=" + Url(24),
        1 => "?a=%00&b=%FF&c=" + new string('q', 100),
        _ => "",
    };

    private string PathId() => _random.Next(4) switch
    {
        0 => "not-a-guid",
        1 => Hex(32),
        _ => RandomGuid().ToString(),
    };

    private Guid RandomGuid() => new([.. Enumerable.Range(0, 16).Select(_ => (byte)_random.Next(256))]);

    private string B64(int bytes) => Convert.ToBase64String(Bytes(bytes));

    private string Hex(int bytes) => Convert.ToHexStringLower(Bytes(bytes));

    private string Url(int bytes) => Convert.ToBase64String(Bytes(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private byte[] Bytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private T Pick<T>(T[] items) => items[_random.Next(items.Length)];

    private static string Str(string value) => JsonSerializer.Serialize(value);
}
