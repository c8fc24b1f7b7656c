using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Relay.Apns;

/// <summary>
/// The provider authentication token (a JWT signed with ES256) every request carries. One token is shared by all
/// requests and connections, renewed after 50 minutes and never more often than every 20 minutes, as Apple requires
/// in <see href="https://developer.apple.com/documentation/usernotifications/establishing-a-token-based-connection-to-apns">Establishing a token-based connection to APNs</see>.
/// </summary>
public sealed class ApnsProviderToken : IDisposable
{
    /// <summary>A token older than this is renewed before use.</summary>
    public static readonly TimeSpan RenewAfter = TimeSpan.FromMinutes(50);

    /// <summary>Tokens are never renewed more often than this: APNs answers 429 TooManyProviderTokenUpdates.</summary>
    public static readonly TimeSpan MinimumRenewInterval = TimeSpan.FromMinutes(20);

    private readonly ECDsa _key;
    private readonly string _teamId;
    private readonly byte[] _encodedHeader;
    private readonly TimeProvider _time;
    private readonly Lock _renewLock = new();
    private volatile Issued? _current;
    private long _minted;

    /// <summary>Creates a token source that signs with <paramref name="key"/>, which it then owns.</summary>
    public ApnsProviderToken(string teamId, string keyId, ECDsa key, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(teamId);
        ArgumentException.ThrowIfNullOrWhiteSpace(keyId);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(timeProvider);
        if (key.KeySize != 256)
        {
            throw new ArgumentException("The APNs signing key must be a P-256 key.", nameof(key));
        }

        _teamId = teamId;
        _key = key;
        _time = timeProvider;
        _encodedHeader = Encode($$"""{"alg":"ES256","kid":"{{keyId}}"}""");
    }

    /// <summary>Loads the key from a <c>.p8</c> file (PKCS#8 PEM).</summary>
    public static ApnsProviderToken FromFile(string teamId, string keyId, string privateKeyPath, TimeProvider timeProvider)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(File.ReadAllText(privateKeyPath));
            return new ApnsProviderToken(teamId, keyId, key, timeProvider);
        }
        catch
        {
            key.Dispose();
            throw;
        }
    }

    /// <summary>How many tokens were signed so far.</summary>
    public long MintedCount => Interlocked.Read(ref _minted);

    /// <summary>Raised after a new token is signed (for metrics).</summary>
    internal event Action? Minted;

    /// <summary>The token to send now: the cached one, or a new one when it is 50 minutes old.</summary>
    public string Current
    {
        get
        {
            var current = _current;
            if (current is not null && _time.GetUtcNow() - current.IssuedAt < RenewAfter)
            {
                return current.Value;
            }

            lock (_renewLock)
            {
                current = _current;
                if (current is null || _time.GetUtcNow() - current.IssuedAt >= RenewAfter)
                {
                    current = Mint();
                }

                return current.Value;
            }
        }
    }

    /// <summary>
    /// Renews the token after APNs answered ExpiredProviderToken to a request that carried <paramref name="rejected"/>.
    /// Only the first of many such failures renews (the others carried a token already replaced), and never sooner
    /// than 20 minutes after the last renewal.
    /// </summary>
    /// <returns>Whether a new token was signed.</returns>
    public bool Renew(string rejected)
    {
        lock (_renewLock)
        {
            var current = _current;
            if (current is null || !string.Equals(current.Value, rejected, StringComparison.Ordinal)
                || _time.GetUtcNow() - current.IssuedAt < MinimumRenewInterval)
            {
                return false;
            }

            Mint();
            return true;
        }
    }

    /// <summary>Signs a token now, ignoring the renewal rules: for checking a key from tooling.</summary>
    public string CreateUncached() => Sign(_time.GetUtcNow()).Value;

    /// <inheritdoc />
    public void Dispose() => _key.Dispose();

    private Issued Mint()
    {
        var issued = Sign(_time.GetUtcNow());
        _current = issued;
        Interlocked.Increment(ref _minted);
        Minted?.Invoke();
        return issued;
    }

    private Issued Sign(DateTimeOffset now)
    {
        var iat = now.ToUnixTimeSeconds();
        var claims = Encode($$"""{"iss":"{{_teamId}}","iat":{{iat}}}""");
        byte[] signingInput = [.. _encodedHeader, (byte)'.', .. claims];

        // ECDsa signs in IEEE P1363 form (r‖s, 64 bytes for P-256), which is what JOSE wants.
        var signature = _key.SignData(signingInput, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation);
        var token = string.Concat(Encoding.ASCII.GetString(signingInput), ".", Base64Url.EncodeToString(signature));
        return new Issued(token, DateTimeOffset.FromUnixTimeSeconds(iat));
    }

    private static byte[] Encode(string json) => Encoding.ASCII.GetBytes(Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json)));

    private sealed record Issued(string Value, DateTimeOffset IssuedAt);
}
