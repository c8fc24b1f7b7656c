namespace Relay.Apns;

/// <summary>
/// No answer came from APNs for a notification: the per-request deadline passed, the connection failed, or the
/// stream was reset or refused, as many times as the client re-sends on its own. The notification may or may not
/// have reached APNs; re-sending it with the same <c>apns-id</c> (the same <see cref="ApnsNotification"/>) is safe.
/// A rejection is not an exception: it is an <see cref="ApnsResponse"/>.
/// </summary>
/// <remarks>
/// <see cref="Failure"/> says what went wrong, so a caller can choose its retry policy: every kind but
/// <see cref="ApnsFailure.InvalidRequest"/> is transient.
/// </remarks>
public sealed class ApnsException : Exception
{
    /// <summary>Creates an exception with a message, for a connection-level failure.</summary>
    public ApnsException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause, for a connection-level failure.</summary>
    public ApnsException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates an exception without detail, for a connection-level failure.</summary>
    public ApnsException() : base("No answer came from APNs.")
    {
    }

    /// <summary>Creates an exception of the given kind.</summary>
    public ApnsException(ApnsFailure failure, string message, Exception? innerException = null) : base(message, innerException) =>
        Failure = failure;

    /// <summary>What kept the answer from coming.</summary>
    public ApnsFailure Failure { get; } = ApnsFailure.Connection;

    /// <summary>Whether the deadline passed (<see cref="ApnsFailure.Timeout"/>) rather than the transport failing.</summary>
    public bool IsTimeout => Failure == ApnsFailure.Timeout;
}

/// <summary>Why <see cref="ApnsClient.SendAsync"/> got no answer from APNs.</summary>
public enum ApnsFailure
{
    /// <summary>
    /// The connection failed (connect or TLS error, reset, GOAWAY without an answer, ping timeout) on every attempt.
    /// The client replaced it, with backoff; retry later.
    /// </summary>
    Connection,

    /// <summary>
    /// APNs reset or refused the request's stream (RST_STREAM, REFUSED_STREAM) on every attempt while the connection
    /// stayed up; retry later.
    /// </summary>
    Stream,

    /// <summary>
    /// No answer within <see cref="ApnsOptions.RequestTimeout"/>, waiting for a free stream or a connection
    /// included; retry later.
    /// </summary>
    Timeout,

    /// <summary>
    /// The HTTP stack refused to send the request as built (a header it cannot encode): a defect of the caller,
    /// which retrying will not fix. Nothing was sent and the connection was kept.
    /// </summary>
    InvalidRequest,
}
