using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.Client.Tests;

/// <summary>
/// <c>docs/envelope-test-vectors.json</c>: envelopes sealed with fixed keys so another implementation (CryptoKit on
/// iOS) can prove it opens what this one seals. Every key comes from RFC 9180 DeriveKeyPair over a fixed label, so the
/// file is the same on every run.
/// </summary>
public sealed class EnvelopeTestVectors
{
    public const string RelativePath = "docs/envelope-test-vectors.json";

    /// <summary>Set to 1 to rewrite the committed file from the generator (then review the diff).</summary>
    public const string RegenerateVariable = "RELAY_REGENERATE_ENVELOPE_VECTORS";

    private static readonly JsonSerializerOptions FileOptions = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    [Fact]
    public void TheCommittedFileIsExactlyWhatTheGeneratorWrites()
    {
        var path = Path.Combine(RepositoryRoot(), RelativePath);
        var expected = Serialize(Generate());
        if (Environment.GetEnvironmentVariable(RegenerateVariable) == "1")
        {
            File.WriteAllText(path, expected);
        }

        Assert.True(File.Exists(path), $"{RelativePath} is missing; run the tests with {RegenerateVariable}=1 to write it.");
        Assert.Equal(expected, File.ReadAllText(path));
    }

    [Fact]
    public void EveryCommittedVectorIsResealedByteForByteFromItsOwnFields()
    {
        var vectors = ReadCommitted();

        Assert.True(vectors.Length >= 4);
        Assert.All(vectors, v =>
        {
            var publicKey = Convert.FromBase64String(v.RecipientPublicKey);
            var plaintext = EnvelopeJson.TryParse(Encoding.UTF8.GetBytes(v.Plaintext), out var problem);
            Assert.True(plaintext is not null, problem);

            var resealed = RelayEnvelope.Seal(publicKey, plaintext, EnvelopePadding.ToLength(v.PaddedLength), Convert.FromBase64String(v.EphemeralPrivateKey));

            Assert.Equal(v.Plaintext, Encoding.UTF8.GetString(EnvelopeJson.Serialize(plaintext)));
            Assert.Equal(publicKey, RelayEnvelope.GetPublicKey(Convert.FromBase64String(v.RecipientPrivateKey)));
            Assert.Equal(v.Ciphertext, Convert.ToBase64String(resealed));
        });
    }

    [Fact]
    public void EveryCommittedCiphertextOpensToItsPlaintextAndIsItsPaddedLengthPlus48()
    {
        var vectors = ReadCommitted();

        Assert.All(vectors, v =>
        {
            var ciphertext = Convert.FromBase64String(v.Ciphertext);
            var privateKey = Convert.FromBase64String(v.RecipientPrivateKey);

            Assert.Equal(v.PaddedLength + RelayEnvelope.Overhead, ciphertext.Length);
            Assert.Equal(v.Plaintext, RelayEnvelope.OpenJson(privateKey, ciphertext));
            Assert.Equal(
                Hpke.PublicKeyOf(Convert.FromBase64String(v.EphemeralPrivateKey)),
                ciphertext.AsSpan(0, RelayEnvelope.EncapsulatedKeyLength).ToArray());
        });
    }

    [Fact]
    public void TheVectorsCoverEveryKindAndSeveralSizes()
    {
        var vectors = ReadCommitted();
        var kinds = vectors.Select(v => JsonDocument.Parse(v.Plaintext).RootElement.GetProperty("kind").GetString()).ToHashSet();

        Assert.Equal(["call", "call-cancel", "message"], kinds.Order(StringComparer.Ordinal));
        Assert.True(vectors.Select(v => v.PaddedLength).Distinct().Count() >= 4);
    }

    /// <summary>The vectors: each kind, the default buckets from 256 to 2048, a relay ciphertext size and an exact length.</summary>
    public static IReadOnlyList<Vector> Generate()
    {
        var alice = Guid.Parse("0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60");
        var bob = Guid.Parse("c3e1f2a4-7b68-4d90-8c15-2f6e9a0b3d7c");
        var sentAt = DateTimeOffset.FromUnixTimeMilliseconds(1_764_633_600_000); // 2025-12-02T00:00:00Z
        return
        [
            Make(1, new(EnvelopeKind.Message, alice, sentAt, "Hello from the relay test vectors."u8.ToArray()), EnvelopePadding.Default),
            Make(2, new(EnvelopeKind.Call, bob, sentAt.AddSeconds(1), """{"callId":"7d0e4c52-51b3-4a8e-b1f4-3f0a9c6e2d18","video":false}"""u8.ToArray()), EnvelopePadding.Default),
            Make(3, new(EnvelopeKind.CallCancel, bob, sentAt.AddSeconds(2), """{"callId":"7d0e4c52-51b3-4a8e-b1f4-3f0a9c6e2d18"}"""u8.ToArray()), EnvelopePadding.ToCiphertextSizes([512])),
            Make(4, new(EnvelopeKind.Message, alice, sentAt.AddMilliseconds(3_456), Pattern(300)), EnvelopePadding.Default),
            Make(5, new(EnvelopeKind.Message, alice, sentAt.AddMinutes(1), Pattern(600)), EnvelopePadding.Default),
            Make(6, new(EnvelopeKind.Message, bob, sentAt.AddMinutes(2), Pattern(1400)), EnvelopePadding.Default),
            Make(7, new(EnvelopeKind.Message, bob, sentAt.AddMinutes(3), ReadOnlyMemory<byte>.Empty), EnvelopePadding.ToLength(150)),
        ];
    }

    private static Vector Make(int number, EnvelopePlaintext plaintext, EnvelopePadding padding)
    {
        var recipient = Hpke.DeriveKeyPair(Encoding.UTF8.GetBytes($"relay-hpke-v1 test vector {number} recipient"));
        var ephemeral = Hpke.DeriveKeyPair(Encoding.UTF8.GetBytes($"relay-hpke-v1 test vector {number} ephemeral"));
        var json = EnvelopeJson.Serialize(plaintext);
        var ciphertext = RelayEnvelope.Seal(recipient.PublicKey, plaintext, padding, ephemeral.PrivateKey);
        return new Vector(
            Convert.ToBase64String(recipient.PrivateKey),
            Convert.ToBase64String(recipient.PublicKey),
            Convert.ToBase64String(ephemeral.PrivateKey),
            Encoding.UTF8.GetString(json),
            padding.GetPaddedLength(json.Length),
            Convert.ToBase64String(ciphertext));
    }

    /// <summary>Bytes that are not all alike, so every base64 character can appear.</summary>
    private static byte[] Pattern(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 167) + 13))];

    private static string Serialize(IReadOnlyList<Vector> vectors) => JsonSerializer.Serialize(vectors, FileOptions) + "\n";

    private static Vector[] ReadCommitted() =>
        JsonSerializer.Deserialize<Vector[]>(File.ReadAllText(Path.Combine(RepositoryRoot(), RelativePath)))
            ?? throw new InvalidDataException($"{RelativePath} is JSON null.");

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "RelayServer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No RelayServer.sln above {AppContext.BaseDirectory}.");
    }

    public sealed record Vector(
        [property: JsonPropertyName("recipientPrivateKey")] string RecipientPrivateKey,
        [property: JsonPropertyName("recipientPublicKey")] string RecipientPublicKey,
        [property: JsonPropertyName("ephemeralPrivateKey")] string EphemeralPrivateKey,
        [property: JsonPropertyName("plaintext")] string Plaintext,
        [property: JsonPropertyName("paddedLength")] int PaddedLength,
        [property: JsonPropertyName("ciphertext")] string Ciphertext);
}
