namespace Relay.Client;

/// <summary>
/// The lengths a <c>relay-hpke-v1</c> plaintext is padded to before sealing, so that ciphertext sizes do not tell a
/// call from a message. Padding is ISO/IEC 7816-4: one <c>0x80</c> byte, then <c>0x00</c> bytes up to the padded
/// length; a ciphertext is always the padded length + <see cref="RelayEnvelope.Overhead"/> bytes. A plaintext is padded
/// to the smallest allowed length that holds it and its <c>0x80</c> byte.
/// </summary>
public sealed class EnvelopePadding
{
    private readonly int[] paddedLengths;

    private EnvelopePadding(int[] paddedLengths) => this.paddedLengths = paddedLengths;

    /// <summary>The smallest of 256, 512, 1024 and 2048 bytes that fits: the padding when the relay sets no sizes.</summary>
    public static EnvelopePadding Default { get; } = new([256, 512, 1024, 2048]);

    /// <summary>The padded lengths allowed, ascending.</summary>
    public IReadOnlyList<int> PaddedLengths => paddedLengths;

    /// <summary>Pads every plaintext to exactly <paramref name="paddedLength"/> bytes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="paddedLength"/> is less than 1.</exception>
    public static EnvelopePadding ToLength(int paddedLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(paddedLength, 1);
        return new([paddedLength]);
    }

    /// <summary>
    /// Pads so that the ciphertext has one of <paramref name="ciphertextSizes"/> bytes, the relay's
    /// <c>Privacy:CiphertextSizes</c>: each padded length is the size − <see cref="RelayEnvelope.Overhead"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The list is empty, or a size is not above <see cref="RelayEnvelope.Overhead"/>.</exception>
    public static EnvelopePadding ToCiphertextSizes(IEnumerable<int> ciphertextSizes)
    {
        ArgumentNullException.ThrowIfNull(ciphertextSizes);
        var lengths = ciphertextSizes.Select(size => size - RelayEnvelope.Overhead).Distinct().Order().ToArray();
        if (lengths.Length == 0)
        {
            throw new ArgumentException("At least one ciphertext size is needed.", nameof(ciphertextSizes));
        }

        if (lengths[0] < 1)
        {
            throw new ArgumentException(
                $"A ciphertext size must be more than {RelayEnvelope.Overhead} bytes (32 of enc, 16 of tag), not {lengths[0] + RelayEnvelope.Overhead}.",
                nameof(ciphertextSizes));
        }

        return new(lengths);
    }

    /// <summary>The padded length for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    /// <exception cref="ArgumentException">No allowed length holds the plaintext and its <c>0x80</c> byte.</exception>
    public int GetPaddedLength(int plaintextLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(plaintextLength);
        foreach (var length in paddedLengths)
        {
            if (plaintextLength < length)
            {
                return length;
            }
        }

        throw new ArgumentException(
            $"The plaintext is {plaintextLength} bytes; with its padding byte it does not fit {paddedLengths[^1]} bytes.",
            nameof(plaintextLength));
    }

    /// <summary>The plaintext, <c>0x80</c>, then zeros up to <paramref name="paddedLength"/> bytes.</summary>
    internal static byte[] Pad(ReadOnlySpan<byte> plaintext, int paddedLength)
    {
        var padded = new byte[paddedLength];
        plaintext.CopyTo(padded);
        padded[plaintext.Length] = 0x80;
        return padded;
    }

    /// <summary>The length of the plaintext before its padding, or −1 when the padding is not ISO/IEC 7816-4.</summary>
    /// <remarks>Runs only on authenticated bytes (after the AEAD verified), so its timing reveals nothing to a forger.</remarks>
    internal static int UnpaddedLength(ReadOnlySpan<byte> padded)
    {
        var marker = padded.LastIndexOfAnyExcept((byte)0x00);
        return marker >= 0 && padded[marker] == 0x80 ? marker : -1;
    }
}
