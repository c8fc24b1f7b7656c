namespace Relay.Data;

/// <summary>
/// A message the relay accepted: committed with one <see cref="Delivery"/> per target device before the sender is
/// answered. The ciphertext is kept only while a delivery still needs it, then set to null. A message encrypted per
/// device has none of its own: each delivery carries its device's (<see cref="Delivery.Ciphertext"/>).
/// </summary>
public sealed class Message
{
    /// <summary>Longest <see cref="IdempotencyKey"/>.</summary>
    public const int IdempotencyKeyMaxLength = 255;

    /// <summary>Longest <see cref="CollapseId"/> (APNs's limit).</summary>
    public const int CollapseIdMaxLength = 64;

    /// <summary>The <c>messageId</c>, also carried in every push's payload so the extension can drop duplicates.</summary>
    public Guid Id { get; set; }

    /// <summary>The account that sent it; null for a sealed send, whose sender the relay does not know.</summary>
    public Guid? SenderAccountId { get; set; }

    /// <summary>When it was accepted (UTC).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Accepted time plus <c>ttlSeconds</c> (UTC): APNs stops trying then.</summary>
    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>When the relay stops retrying: <see cref="ExpiresAt"/>, or a short window for a ttl of 0.</summary>
    public DateTimeOffset RetryUntil { get; set; }

    /// <summary>The <c>apns-expiration</c> header of every attempt: 0, or <see cref="ExpiresAt"/> in UNIX seconds.</summary>
    public long ApnsExpiration { get; set; }

    /// <summary>The <c>apns-collapse-id</c>, if the sender gave one.</summary>
    public string? CollapseId { get; set; }

    /// <summary>
    /// The base64 ciphertext exactly as received, shared by every delivery, while one still needs it; then null.
    /// Always null for a message encrypted per device.
    /// </summary>
    public string? Ciphertext { get; set; }

    /// <summary>The sender's <c>Idempotency-Key</c>, unique per sender, forgotten after a day.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>SHA-256 of the request's fields, to tell a repeat from a different request under the same key.</summary>
    public byte[]? RequestHash { get; set; }

    /// <summary>One delivery per target device.</summary>
    public List<Delivery> Deliveries { get; } = [];
}
