namespace Relay.Client;

/// <summary>
/// What a <c>relay-hpke-v1</c> envelope holds: on the wire the JSON
/// <c>{"v":1,"kind":…,"sender":accountId,"sentAt":unix ms,"body":base64}</c> before padding.
/// </summary>
/// <param name="Kind">What the body is.</param>
/// <param name="Sender">The sending account's id.</param>
/// <param name="SentAt">When it was sent; the envelope keeps whole milliseconds since the Unix epoch.</param>
/// <param name="Body">The application's bytes (usually its own end-to-end ciphertext or a small JSON).</param>
public sealed record EnvelopePlaintext(EnvelopeKind Kind, Guid Sender, DateTimeOffset SentAt, ReadOnlyMemory<byte> Body);
