using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Api.Messages;

/// <summary>
/// One entry of a message's <c>to</c>: an account id, either plain (<c>"…"</c>) or with the recipient's delivery key
/// (<c>{"accountId": "…", "deliveryKey": "…"}</c>). Accounts that require their key, and every recipient of a sealed
/// send, must be named with it.
/// </summary>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeliveryKey">The recipient's delivery key in standard base64, as its owner gave it out.</param>
[JsonConverter(typeof(MessageRecipientConverter))]
public sealed record MessageRecipient(Guid AccountId, string? DeliveryKey = null);

/// <summary>Reads a recipient as a UUID string or as an object; writes the plain form when there is no key.</summary>
internal sealed class MessageRecipientConverter : JsonConverter<MessageRecipient>
{
    // A null entry is read here too, and refused, rather than left in the list.
    public override bool HandleNull => true;

    public override MessageRecipient Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return new MessageRecipient(ReadId(ref reader));
        }

        if (reader.TokenType == JsonTokenType.Null)
        {
            throw new JsonException("A recipient must not be null.");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("A recipient must be an account id string or an object {\"accountId\", \"deliveryKey\"}.");
        }

        Guid? accountId = null;
        string? deliveryKey = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            if (string.Equals(name, "accountId", StringComparison.OrdinalIgnoreCase))
            {
                accountId = reader.TokenType == JsonTokenType.String
                    ? ReadId(ref reader)
                    : throw new JsonException("accountId must be a UUID string.");
            }
            else if (string.Equals(name, "deliveryKey", StringComparison.OrdinalIgnoreCase))
            {
                deliveryKey = reader.TokenType switch
                {
                    JsonTokenType.String => reader.GetString(),
                    JsonTokenType.Null => null,
                    _ => throw new JsonException("deliveryKey must be a base64 string."),
                };
            }
            else
            {
                reader.Skip();
            }
        }

        return new MessageRecipient(accountId ?? throw new JsonException("A recipient object needs its accountId."), deliveryKey);
    }

    public override void Write(Utf8JsonWriter writer, MessageRecipient value, JsonSerializerOptions options)
    {
        if (value.DeliveryKey is null)
        {
            writer.WriteStringValue(value.AccountId);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("accountId", value.AccountId);
        writer.WriteString("deliveryKey", value.DeliveryKey);
        writer.WriteEndObject();
    }

    private static Guid ReadId(ref Utf8JsonReader reader) =>
        reader.TryGetGuid(out var id) ? id : throw new JsonException("An account id must be a UUID string.");
}
