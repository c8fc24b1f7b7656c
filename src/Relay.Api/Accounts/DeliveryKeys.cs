using System.Security.Cryptography;
using Relay.Api.Messages;
using Relay.Data;

namespace Relay.Api.Accounts;

/// <summary>
/// Who may wake an account's phones: the one home of the delivery-key rules. The relay keeps only SHA-256 of a key
/// and compares hashes in constant time; a sealed send must present every recipient's key, an authenticated one only
/// the keys of accounts that require theirs (and any key it presents must be right).
/// </summary>
public static class DeliveryKeys
{
    /// <summary>Standard base64 of 16 to 32 bytes.</summary>
    public static bool IsWellFormed(string key) =>
        Base64Text.DecodedLength(key) is >= Account.DeliveryKeyMinLength and <= Account.DeliveryKeyMaxLength;

    /// <summary>The words of <see cref="IsWellFormed"/> for a validation problem about <paramref name="what"/>.</summary>
    public static string WellFormedRule(string what) =>
        $"{what} must be {Account.DeliveryKeyMinLength} to {Account.DeliveryKeyMaxLength} random bytes in standard base64.";

    /// <summary>What the relay stores of a well-formed key.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Convert.FromBase64String(key));

    /// <summary>
    /// The first recipient an authenticated sender may not reach: one that requires its key and was not given it, or
    /// one given a key that is not its own. Recipients that do not exist are left to the caller (they are a 404).
    /// </summary>
    public static Guid? FirstRefused(IEnumerable<MessageRecipient> to, IReadOnlyDictionary<Guid, Recipient> found)
    {
        foreach (var entry in to)
        {
            if (!found.TryGetValue(entry.AccountId, out var recipient))
            {
                continue;
            }

            var allowed = entry.DeliveryKey is { } key ? Matches(key, recipient.DeliveryKeyHash) : !recipient.DeliveryKeyRequired;
            if (!allowed)
            {
                return entry.AccountId;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a sealed sender named every recipient with its right key. Every entry is checked, so the time taken
    /// does not tell which one failed, and an account that does not exist fails like a wrong key.
    /// </summary>
    public static bool AllPresented(IEnumerable<MessageRecipient> to, IReadOnlyDictionary<Guid, Recipient> found)
    {
        var all = true;
        foreach (var entry in to)
        {
            var hash = found.TryGetValue(entry.AccountId, out var recipient) ? recipient.DeliveryKeyHash : null;
            all &= entry.DeliveryKey is { } key && Matches(key, hash);
        }

        return all;
    }

    private static bool Matches(string key, byte[]? hash)
    {
        var presented = Hash(key);
        return hash is not null && CryptographicOperations.FixedTimeEquals(presented, hash);
    }
}
