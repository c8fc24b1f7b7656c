namespace Relay.Data;

/// <summary>
/// One message to one device. Its id is the <c>apns-id</c> of every attempt, for life. A delivery being attempted
/// holds a lease (<see cref="LeaseOwner"/> until <see cref="LeaseUntil"/>); when the lease runs out any instance may
/// take it over.
/// </summary>
public sealed class Delivery
{
    /// <summary>Longest stored <see cref="Reason"/>.</summary>
    public const int ReasonMaxLength = 64;

    /// <summary>The delivery id, which is also its <c>apns-id</c>.</summary>
    public Guid Id { get; set; }

    /// <summary>The message.</summary>
    public Guid MessageId { get; set; }

    /// <summary>The position in the message's answer (recipients in the order given, then their devices).</summary>
    public int Ordinal { get; set; }

    /// <summary>The recipient account.</summary>
    public Guid AccountId { get; set; }

    /// <summary>The recipient's device; deleting the device deletes its deliveries.</summary>
    public Guid DeviceId { get; set; }

    /// <summary>Where the delivery stands.</summary>
    public DeliveryStatus Status { get; set; }

    /// <summary>Attempts made so far (requests that reached APNs or failed on the way).</summary>
    public int Attempts { get; set; }

    /// <summary>When a <see cref="DeliveryStatus.Retrying"/> delivery is due (UTC).</summary>
    public DateTimeOffset NextAttemptAt { get; set; }

    /// <summary>The relay instance attempting it now, if any.</summary>
    public Guid? LeaseOwner { get; set; }

    /// <summary>Until when <see cref="LeaseOwner"/> holds it (UTC).</summary>
    public DateTimeOffset? LeaseUntil { get; set; }

    /// <summary>APNs's reason of the last answer, or the relay's own (<c>Expired</c>).</summary>
    public string? Reason { get; set; }

    /// <summary>When the status or an attempt last changed it (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>
    /// Whether the delivery still sits in its device's inbox: true until the device acknowledges it, or the inbox
    /// cap drops it as the oldest. The inbox lists it while it is <c>retrying</c> or <c>sent</c> and unexpired.
    /// </summary>
    public bool InInbox { get; set; } = true;

    /// <summary>
    /// This device's own base64 ciphertext, for a message encrypted per device, while the delivery still needs it
    /// (owed to APNs or waiting in the inbox); then null. Always null when the message's one
    /// <see cref="Message.Ciphertext"/> serves all its deliveries.
    /// </summary>
    public string? Ciphertext { get; set; }
}
