using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Client.Http;

/// <summary>The relay's JSON: camelCase names, enums as camelCase strings, nulls left out, binary values as base64.</summary>
internal static class RelayJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    /// <summary>A fresh, writable copy of <see cref="Options"/> (SignalR's JSON protocol takes its own instance).</summary>
    public static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
        return options;
    }
}
