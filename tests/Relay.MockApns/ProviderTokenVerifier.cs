using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Relay.MockApns;

/// <summary>The verdict on one provider token string; <see cref="IssuedAt"/> is its <c>iat</c> in Unix seconds.</summary>
internal sealed record ProviderTokenInfo(string Token, bool IsValid, long IssuedAt);

/// <summary>
/// Verifies provider tokens (ES256 JWTs) against the public half of the team's .p8 key. The signature of each distinct
/// token string is verified once and the verdict cached; the token's age is the caller's to check on every request.
/// </summary>
internal sealed class ProviderTokenVerifier : IDisposable
{
    private const int MaxCachedTokens = 10_000;
    private static readonly SearchValues<char> Base64UrlChars =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    private readonly ECDsa _publicKey;
    private readonly Lock _keyLock = new();
    private readonly string _teamId;
    private readonly string _keyId;
    private readonly Statistics _statistics;
    private readonly ConcurrentDictionary<string, ProviderTokenInfo> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ProviderTokenInfo>.AlternateLookup<ReadOnlySpan<char>> _cacheBySpan;

    public ProviderTokenVerifier(MockApnsOptions options, Statistics statistics)
    {
        _publicKey = CreatePublicKey(options);
        _teamId = options.TeamId;
        _keyId = options.KeyId;
        _statistics = statistics;
        _cacheBySpan = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public ProviderTokenInfo Verify(ReadOnlySpan<char> jwt)
    {
        if (_cacheBySpan.TryGetValue(jwt, out var cached))
        {
            return cached;
        }

        var token = jwt.ToString();
        var info = Parse(token);
        _statistics.TokenVerified();
        if (_cache.Count >= MaxCachedTokens)
        {
            _cache.Clear();
        }

        if (_cache.TryAdd(token, info))
        {
            _statistics.DistinctTokenSeen();
        }

        return info;
    }

    public void Clear() => _cache.Clear();

    public void Dispose() => _publicKey.Dispose();

    private ProviderTokenInfo Parse(string token)
    {
        var invalid = new ProviderTokenInfo(token, IsValid: false, IssuedAt: 0);
        var parts = token.Split('.');
        if (parts.Length != 3 ||
            !TryDecode(parts[0], out var header) ||
            !TryDecode(parts[1], out var claims) ||
            !TryDecode(parts[2], out var signature) ||
            signature.Length != 64 ||
            !IsValidHeader(header) ||
            !TryReadIssuedAt(claims, out var issuedAt))
        {
            return invalid;
        }

        // The signature is JOSE's IEEE P1363 r||s (64 bytes), the default format of VerifyData; DER is rejected above.
        var signingInput = Encoding.ASCII.GetBytes(token, 0, parts[0].Length + 1 + parts[1].Length);
        bool verified;
        lock (_keyLock)
        {
            verified = _publicKey.VerifyData(signingInput, signature, HashAlgorithmName.SHA256);
        }

        return verified ? invalid with { IsValid = true, IssuedAt = issuedAt } : invalid;
    }

    private static bool TryDecode(string part, out byte[] bytes)
    {
        bytes = [];
        if (part.Length == 0 || part.AsSpan().ContainsAnyExcept(Base64UrlChars) || part.Length % 4 == 1)
        {
            return false;
        }

        bytes = Base64Url.DecodeFromChars(part);
        return true;
    }

    private bool IsValidHeader(byte[] header)
    {
        try
        {
            using var document = JsonDocument.Parse(header);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object &&
                HasString(root, "alg", "ES256") &&
                HasString(root, "kid", _keyId);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private bool TryReadIssuedAt(byte[] claims, out long issuedAt)
    {
        issuedAt = 0;
        try
        {
            using var document = JsonDocument.Parse(claims);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object &&
                HasString(root, "iss", _teamId) &&
                root.TryGetProperty("iat", out var iat) &&
                iat.ValueKind == JsonValueKind.Number &&
                iat.TryGetInt64(out issuedAt) &&
                issuedAt > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool HasString(JsonElement element, string name, string expected) =>
        element.TryGetProperty(name, out var value) &&
        value.ValueKind == JsonValueKind.String &&
        value.ValueEquals(expected);

    private static ECDsa CreatePublicKey(MockApnsOptions options)
    {
        var key = ECDsa.Create();
        try
        {
            if (options.ProviderKey is not null)
            {
                // A copy of the public half only: the caller keeps (and may dispose) its own key.
                key.ImportSubjectPublicKeyInfo(options.ProviderKey.ExportSubjectPublicKeyInfo(), out _);
            }
            else if (!string.IsNullOrWhiteSpace(options.ProviderPublicKeyPem))
            {
                key.ImportFromPem(options.ProviderPublicKeyPem);
            }
            else
            {
                throw new ArgumentException(
                    $"Set {nameof(MockApnsOptions.ProviderKey)} or {nameof(MockApnsOptions.ProviderPublicKeyPem)}.",
                    nameof(options));
            }

            if (key.KeySize != 256)
            {
                throw new ArgumentException("The provider key must be a P-256 (ES256) key.", nameof(options));
            }

            return key;
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }
}
