using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Relay.Client;

/// <summary>The plaintext's wire form, fields in this order: <c>{"v":1,"kind","sender","sentAt","body"}</c>.</summary>
internal sealed record EnvelopeJson(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("kind")] EnvelopeKind Kind,
    [property: JsonPropertyName("sender")] Guid Sender,
    [property: JsonPropertyName("sentAt")] long SentAt,
    [property: JsonPropertyName("body")] byte[] Body)
{
    public const int CurrentVersion = 1;

    private const long MaxUnixMilliseconds = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z

    /// <summary>
    /// Every field required and non-null, <c>kind</c> only as one of its names, and base64 written as is (the default
    /// encoder would write <c>+</c> as <c>\u002B</c>).
    /// </summary>
    private static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = EnvelopeJsonContext.Default,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        AllowDuplicateProperties = false,
        Converters = { new JsonStringEnumConverter<EnvelopeKind>(namingPolicy: null, allowIntegerValues: false) },
    };

    public static byte[] Serialize(EnvelopePlaintext plaintext) => JsonSerializer.SerializeToUtf8Bytes(
        new EnvelopeJson(CurrentVersion, plaintext.Kind, plaintext.Sender, plaintext.SentAt.ToUnixTimeMilliseconds(), plaintext.Body.ToArray()),
        TypeInfo);

    /// <summary>The plaintext of a version 1 JSON, or <see langword="null"/> with the reason it is not one.</summary>
    public static EnvelopePlaintext? TryParse(ReadOnlySpan<byte> json, out string? problem)
    {
        EnvelopeJson? wire;
        try
        {
            wire = JsonSerializer.Deserialize(json, TypeInfo);
        }
        catch (JsonException e)
        {
            problem = e.Message.TrimEnd('.');
            return null;
        }

        problem = wire switch
        {
            null => "the plaintext is JSON null",
            { Version: not CurrentVersion } => $"version {wire.Version} is not {CurrentVersion}",
            _ when !Enum.IsDefined(wire.Kind) => "unknown kind",
            { SentAt: < 0 or > MaxUnixMilliseconds } => $"sentAt {wire.SentAt} is not a time",
            _ => null,
        };
        return problem is null
            ? new EnvelopePlaintext(wire!.Kind, wire.Sender, DateTimeOffset.FromUnixTimeMilliseconds(wire.SentAt), wire.Body)
            : null;
    }

    private static JsonTypeInfo<EnvelopeJson> TypeInfo => (JsonTypeInfo<EnvelopeJson>)Options.GetTypeInfo(typeof(EnvelopeJson));
}

[JsonSerializable(typeof(EnvelopeJson))]
internal sealed partial class EnvelopeJsonContext : JsonSerializerContext;
