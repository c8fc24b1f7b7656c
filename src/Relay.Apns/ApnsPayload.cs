using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Relay.Apns;

/// <summary>
/// The payload of an end-to-end-encrypted alert: a fixed fallback alert from configuration with
/// <c>mutable-content: 1</c>, so the Notification Service Extension can decrypt and replace it, the ciphertext
/// exactly as the sender posted it, and a message id the extension uses to drop duplicates.
/// See <see href="https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification">Generating a remote notification</see>.
/// </summary>
/// <remarks>
/// The layout is <c>{"aps":{…},"ciphertext":"…","messageId":"…"}</c>. Everything but the ciphertext has a fixed size
/// once the alert is known, so the payload size of any ciphertext is known before building it.
/// </remarks>
public sealed class ApnsPayload
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    // ","messageId":"<36-character uuid>"}
    private const int SuffixLength = 15 + 36 + 2;

    private readonly byte[] _prefix;

    /// <summary>Prepares the fixed part of every payload for one app.</summary>
    /// <param name="title">The fallback alert title; <see langword="null"/> omits it.</param>
    /// <param name="body">The fallback alert body; <see langword="null"/> omits it.</param>
    /// <param name="locKey">A localization key the app resolves instead; <see langword="null"/> omits it.</param>
    /// <param name="sound"><c>aps.sound</c>; <see langword="null"/> omits it.</param>
    public ApnsPayload(string? title, string? body = null, string? locKey = null, string? sound = "default")
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WritePropertyName("aps"u8);
            writer.WriteStartObject();
            writer.WritePropertyName("alert"u8);
            writer.WriteStartObject();
            if (title is not null)
            {
                writer.WriteString("title"u8, title);
            }

            if (body is not null)
            {
                writer.WriteString("body"u8, body);
            }

            if (locKey is not null)
            {
                writer.WriteString("loc-key"u8, locKey);
            }

            writer.WriteEndObject();
            writer.WriteNumber("mutable-content"u8, 1);
            if (sound is not null)
            {
                writer.WriteString("sound"u8, sound);
            }

            writer.WriteEndObject();
            writer.Flush();
        }

        _prefix = [.. buffer.WrittenSpan, .. ",\"ciphertext\":\""u8];
    }

    /// <summary>The fallback title when an app configures no alert text at all.</summary>
    public const string DefaultTitle = "New message";

    /// <summary>
    /// The payload of an app's configured fallback alert: its title, body and localization key as given, except that
    /// an alert with no text at all gets <see cref="DefaultTitle"/>, so the user never sees an empty notification.
    /// </summary>
    public static ApnsPayload ForFallbackAlert(string? title, string? body, string? locKey, string? sound) =>
        new(title is { Length: > 0 } || body is not null || locKey is not null ? title : DefaultTitle, body, locKey, string.IsNullOrEmpty(sound) ? null : sound);

    /// <summary>The payload size, in bytes, for a ciphertext of this many characters.</summary>
    public int SizeFor(int ciphertextLength) => _prefix.Length + ciphertextLength + SuffixLength;

    /// <summary>The longest ciphertext, in characters, whose payload fits in <see cref="ApnsHeaders.MaxPayloadBytes"/>.</summary>
    public int MaxCiphertextLength => ApnsHeaders.MaxPayloadBytes - _prefix.Length - SuffixLength;

    /// <summary>
    /// The payload bytes. The ciphertext must be base64 (it is written into the JSON string without escaping, so
    /// it arrives byte for byte).
    /// </summary>
    /// <exception cref="ArgumentException">The ciphertext holds a character outside the base64 alphabet.</exception>
    public byte[] Build(string ciphertext, Guid messageId)
    {
        ArgumentNullException.ThrowIfNull(ciphertext);
        if (ciphertext.AsSpan().ContainsAnyExcept(Base64Alphabet))
        {
            throw new ArgumentException("The ciphertext must be base64.", nameof(ciphertext));
        }

        var payload = new byte[SizeFor(ciphertext.Length)];
        var span = payload.AsSpan();
        _prefix.CopyTo(span);
        var at = _prefix.Length;
        at += Encoding.ASCII.GetBytes(ciphertext, span[at..]);
        "\",\"messageId\":\""u8.CopyTo(span[at..]);
        at += 15;
        messageId.TryFormat(span[at..], out var written, "D");
        at += written;
        "\"}"u8.CopyTo(span[at..]);
        return payload;
    }

    private static readonly SearchValues<char> Base64Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
}
