namespace Relay.Apns;

/// <summary>
/// No answer came from APNs for a notification: the connection failed or was reset, the stream was refused, or the
/// per-request deadline passed. The notification may or may not have reached APNs; re-sending it with the same
/// <c>apns-id</c> is safe.
/// </summary>
public sealed class ApnsException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public ApnsException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public ApnsException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates an exception without detail.</summary>
    public ApnsException() : base("No answer came from APNs.")
    {
    }

    /// <summary>Whether the deadline passed rather than the transport failing.</summary>
    public bool IsTimeout { get; init; }
}
