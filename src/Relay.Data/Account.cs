namespace Relay.Data;

/// <summary>An account: an Ed25519 identity key the relay knows, and the devices registered for it.</summary>
public sealed class Account
{
    /// <summary>The length of an Ed25519 public key, the only size <see cref="IdentityKey"/> may have.</summary>
    public const int IdentityKeyLength = 32;

    /// <summary>The account id clients use (<c>accountId</c>).</summary>
    public Guid Id { get; set; }

    /// <summary>The 32-byte Ed25519 public key; unique.</summary>
    public required byte[] IdentityKey { get; set; }

    /// <summary>The shortest delivery key an account may set, in bytes.</summary>
    public const int DeliveryKeyMinLength = 16;

    /// <summary>The longest delivery key an account may set, in bytes.</summary>
    public const int DeliveryKeyMaxLength = 32;

    /// <summary>
    /// SHA-256 of the account's delivery key, or null without one. The key itself is never stored: senders present
    /// it and the relay compares hashes in constant time.
    /// </summary>
    public byte[]? DeliveryKeyHash { get; set; }

    /// <summary>Whether authenticated senders must present the delivery key too (sealed senders always must).</summary>
    public bool DeliveryKeyRequired { get; set; }

    /// <summary>When the account was created (UTC).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The account's devices, invalidated ones included.</summary>
    public List<Device> Devices { get; } = [];
}
