using System.CommandLine;
using System.Text.Json;
using Relay.Client;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl envelope seal|open</c>: the reference <c>relay-hpke-v1</c> envelope by hand, so an app developer can make
/// a push for a device key or read one the app received. No configuration, no database.
/// </summary>
internal static class EnvelopeCommand
{
    /// <summary>The kinds by their wire names, taken from the SDK's own JSON names so the two cannot drift.</summary>
    private static readonly Dictionary<string, EnvelopeKind> Kinds = Enum.GetValues<EnvelopeKind>()
        .ToDictionary(kind => JsonSerializer.Serialize(kind).Trim('"'), StringComparer.Ordinal);

    public static Command Create(CtlConsole console) => new("envelope", "Seals or opens a relay-hpke-v1 envelope (HPKE to a device's X25519 key).")
    {
        CreateSeal(console),
        CreateOpen(console),
    };

    private static Command CreateSeal(CtlConsole console)
    {
        var command = new Command("seal", "Seals a plaintext to a device's public key and prints the base64 ciphertext.");
        var publicKey = new Option<string>("--public-key") { Description = "The device's X25519 public key, base64 of 32 bytes.", Required = true };
        var kind = new Option<string>("--kind") { Description = "What the body is.", Required = true };
        kind.AcceptOnlyFromAmong([.. Kinds.Keys]);
        var sender = new Option<Guid>("--sender") { Description = "The sending account's id.", Required = true };
        var body = new Option<string>("--body") { Description = "The body, base64.", Required = true };
        var size = new Option<int?>("--size")
        {
            Description = "The padded plaintext length (the ciphertext is 48 bytes more); default: the smallest of 256, 512, 1024, 2048 that fits.",
        };
        command.Options.Add(publicKey);
        command.Options.Add(kind);
        command.Options.Add(sender);
        command.Options.Add(body);
        command.Options.Add(size);
        command.SetAction(parse => Seal(
            console,
            Base64Key(parse.GetValue(publicKey)!, "--public-key", "public"),
            new EnvelopePlaintext(Kinds[parse.GetValue(kind)!], parse.GetValue(sender), DateTimeOffset.UtcNow, Base64(parse.GetValue(body)!, "--body")),
            parse.GetValue(size)));
        return command;
    }

    private static Command CreateOpen(CtlConsole console)
    {
        var command = new Command("open", "Opens an envelope with a device's private key and prints its plaintext JSON.");
        var privateKey = new Option<string>("--private-key") { Description = "The device's X25519 private key, base64 of 32 bytes.", Required = true };
        var ciphertext = new Option<string>("--ciphertext") { Description = "The envelope, base64.", Required = true };
        command.Options.Add(privateKey);
        command.Options.Add(ciphertext);
        command.SetAction(parse =>
        {
            var key = Base64Key(parse.GetValue(privateKey)!, "--private-key", "private");
            var envelope = Base64(parse.GetValue(ciphertext)!, "--ciphertext");
            try
            {
                console.Out.WriteLine(RelayEnvelope.OpenJson(key, envelope));
                return RelayCtl.Success;
            }
            catch (EnvelopeException e)
            {
                throw new CtlException(e.Message);
            }
        });
        return command;
    }

    private static int Seal(CtlConsole console, byte[] publicKey, EnvelopePlaintext plaintext, int? size)
    {
        if (size is < 1)
        {
            throw CtlException.Usage("--size must be at least 1.");
        }

        var padding = size is { } length ? EnvelopePadding.ToLength(length) : EnvelopePadding.Default;
        var plaintextLength = RelayEnvelope.GetPlaintextLength(plaintext);
        if (plaintextLength >= padding.PaddedLengths[^1])
        {
            throw CtlException.Usage(size is null
                ? $"--body is too large: the plaintext is {plaintextLength} bytes and must be under {padding.PaddedLengths[^1]} (or give a larger --size)."
                : $"--size {size} does not hold the {plaintextLength}-byte plaintext and its padding byte; use at least {plaintextLength + 1}.");
        }

        byte[] envelope;
        try
        {
            envelope = RelayEnvelope.Seal(publicKey, plaintext, padding);
        }
        catch (ArgumentException)
        {
            // The length was checked above; what is left is a low-order point such as all zeros.
            throw CtlException.Usage("--public-key is not a usable X25519 public key.");
        }

        console.Out.WriteLine(Convert.ToBase64String(envelope));
        return RelayCtl.Success;
    }

    private static byte[] Base64Key(string text, string option, string which)
    {
        var key = Base64(text, option);
        return key.Length == RelayEnvelope.KeyLength
            ? key
            : throw CtlException.Usage($"{option} must be an X25519 {which} key, base64 of {RelayEnvelope.KeyLength} bytes, not {key.Length}.");
    }

    private static byte[] Base64(string text, string option)
    {
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw CtlException.Usage($"{option} must be standard base64.");
        }
    }
}
