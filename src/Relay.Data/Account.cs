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

    /// <summary>When the account was created (UTC).</summary>
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>The account's devices, invalidated ones included.</summary>
    public List<Device> Devices { get; } = [];
}
