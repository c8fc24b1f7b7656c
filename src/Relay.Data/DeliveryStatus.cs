namespace Relay.Data;

/// <summary>
/// Where one delivery of a message to one device stands. Stored as the API's own lower-case words. A status only
/// moves forward (<see cref="DeliveryStatuses.CanMove"/>): <c>retrying</c> → <c>sent</c> or <c>failed</c> or
/// <c>delivered</c>, <c>sent</c> → <c>delivered</c>.
/// </summary>
public enum DeliveryStatus
{
    /// <summary>Not yet accepted by APNs; the relay keeps trying until the message expires.</summary>
    Retrying,

    /// <summary>APNs accepted it.</summary>
    Sent,

    /// <summary>The device acknowledged it.</summary>
    Delivered,

    /// <summary>It never will be sent; the reason says why.</summary>
    Failed,
}

/// <summary>The transitions a delivery may make, and the words statuses are stored and shown as.</summary>
public static class DeliveryStatuses
{
    /// <summary>Whether a delivery in <paramref name="from"/> may move to <paramref name="to"/>.</summary>
    public static bool CanMove(DeliveryStatus from, DeliveryStatus to) => (from, to) switch
    {
        (DeliveryStatus.Retrying, DeliveryStatus.Sent or DeliveryStatus.Failed or DeliveryStatus.Delivered) => true,
        (DeliveryStatus.Sent, DeliveryStatus.Delivered) => true,
        _ => false,
    };

    /// <summary>Whether nothing more will be attempted for a delivery in <paramref name="status"/>.</summary>
    public static bool IsFinal(DeliveryStatus status) => status is not DeliveryStatus.Retrying;

    /// <summary>The stored and shown word: <c>retrying</c>, <c>sent</c>, <c>delivered</c>, <c>failed</c>.</summary>
    public static string ToText(this DeliveryStatus status) => status switch
    {
        DeliveryStatus.Retrying => "retrying",
        DeliveryStatus.Sent => "sent",
        DeliveryStatus.Delivered => "delivered",
        DeliveryStatus.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(status), status, null),
    };

    /// <summary>The status a stored word names.</summary>
    public static DeliveryStatus Parse(string text) => text switch
    {
        "retrying" => DeliveryStatus.Retrying,
        "sent" => DeliveryStatus.Sent,
        "delivered" => DeliveryStatus.Delivered,
        "failed" => DeliveryStatus.Failed,
        _ => throw new ArgumentOutOfRangeException(nameof(text), text, "Not a delivery status."),
    };
}
