namespace Relay.Client;

/// <summary>Why a <c>relay-hpke-v1</c> envelope did not open.</summary>
public enum EnvelopeFailure
{
    /// <summary>Too short to be an envelope, or its first 32 bytes are not a usable X25519 key.</summary>
    Malformed,

    /// <summary>
    /// The authentication tag does not verify: the envelope was sealed to another key, or it was altered. The two are
    /// indistinguishable by design.
    /// </summary>
    NotForThisKey,

    /// <summary>The decrypted bytes do not end with ISO/IEC 7816-4 padding (<c>0x80</c> then zero or more <c>0x00</c>).</summary>
    BadPadding,

    /// <summary>The unpadded bytes are not a version 1 plaintext JSON with every field valid.</summary>
    BadPlaintext,
}
