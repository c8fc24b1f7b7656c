namespace Relay.Apns;

/// <summary>
/// APNs's answer to one notification. A rejection is an answer, not an exception: only the absence of an answer
/// (timeout, connection or stream failure) makes <see cref="ApnsClient.SendAsync"/> throw an <see cref="ApnsException"/>.
/// </summary>
public sealed record ApnsResponse
{
    /// <summary>The HTTP status code APNs answered with.</summary>
    public required int StatusCode { get; init; }

    /// <summary>The <c>apns-id</c> APNs echoed, which is the one the request carried.</summary>
    public required Guid ApnsId { get; init; }

    /// <summary>The parsed rejection reason; <see langword="null"/> when accepted.</summary>
    public ApnsRejectionReason? Reason { get; init; }

    /// <summary>Apple's reason string exactly as received; <see langword="null"/> when accepted.</summary>
    public string? ReasonText { get; init; }

    /// <summary>
    /// For a 410, the time APNs last confirmed the token was no longer valid for the topic (the <c>timestamp</c> field).
    /// </summary>
    public DateTimeOffset? TokenInvalidatedAt { get; init; }

    /// <summary>
    /// How long APNs asked the sender to wait, from a <c>Retry-After</c> header (seconds or an HTTP date) when it
    /// sent one, as some 429 and 503 answers do; <see langword="null"/> otherwise. Never negative.
    /// </summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Whether APNs accepted the notification.</summary>
    public bool IsAccepted => StatusCode == 200;

    /// <summary>What the answer means for the sender.</summary>
    public ApnsOutcome Outcome => ApnsOutcomes.Classify(StatusCode, Reason ?? ApnsRejectionReason.Unknown);
}
