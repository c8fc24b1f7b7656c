using System.Security.Cryptography;

namespace Relay.Client;

/// <summary>
/// A ciphertext did not open as a <c>relay-hpke-v1</c> envelope; <see cref="Failure"/> says why. Nothing of the
/// plaintext is returned when this is thrown.
/// </summary>
public sealed class EnvelopeException : CryptographicException
{
    /// <summary>Creates an exception for a failure, with its message.</summary>
    public EnvelopeException(EnvelopeFailure failure, string message) : base(message) => Failure = failure;

    /// <summary>Creates an exception for a failure, with its message and cause.</summary>
    public EnvelopeException(EnvelopeFailure failure, string message, Exception innerException) : base(message, innerException) => Failure = failure;

    /// <summary>Creates an exception with a message; the failure is <see cref="EnvelopeFailure.Malformed"/>.</summary>
    public EnvelopeException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and cause; the failure is <see cref="EnvelopeFailure.Malformed"/>.</summary>
    public EnvelopeException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates an exception without detail; the failure is <see cref="EnvelopeFailure.Malformed"/>.</summary>
    public EnvelopeException() : base("Not a relay-hpke-v1 envelope.")
    {
    }

    /// <summary>Why the envelope did not open.</summary>
    public EnvelopeFailure Failure { get; }
}
