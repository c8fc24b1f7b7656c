using System.Text.Json.Serialization;

namespace Relay.Client;

/// <summary>What a <c>relay-hpke-v1</c> plaintext carries; on the wire its <c>kind</c> is the string named on each member.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<EnvelopeKind>))]
public enum EnvelopeKind
{
    /// <summary><c>"message"</c>: a message for the user; the notification shows it.</summary>
    [JsonStringEnumMemberName("message")]
    Message,

    /// <summary><c>"call"</c>: an incoming call; the app reports it to CallKit.</summary>
    [JsonStringEnumMemberName("call")]
    Call,

    /// <summary><c>"call-cancel"</c>: the caller hung up before the call was answered.</summary>
    [JsonStringEnumMemberName("call-cancel")]
    CallCancel,
}
