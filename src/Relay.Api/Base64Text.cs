using System.Buffers;
using System.Buffers.Text;

namespace Relay.Api;

/// <summary>Strict standard base64 (RFC 4648 §4): no whitespace, no URL alphabet, padding required.</summary>
public static class Base64Text
{
    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");

    public static bool IsValid(string text) =>
        text.Length > 0 && text.Length % 4 == 0 && !text.AsSpan().ContainsAnyExcept(Alphabet) && Base64.IsValid(text);

    /// <summary>The decoded length, or -1 when <paramref name="text"/> is not strict base64.</summary>
    public static int DecodedLength(string text)
    {
        if (!IsValid(text))
        {
            return -1;
        }

        var padding = text.EndsWith("==", StringComparison.Ordinal) ? 2 : text.EndsWith('=') ? 1 : 0;
        return text.Length / 4 * 3 - padding;
    }
}
