namespace Relay.Data;

/// <summary>
/// A sign-in challenge issued to an account. It is single use: redeem it by deleting its row and checking that
/// exactly one row went (<c>ExecuteDeleteAsync</c> returning 1), so two concurrent redemptions cannot both succeed.
/// </summary>
public sealed class AuthChallenge
{
    /// <summary>The length of <see cref="Challenge"/>.</summary>
    public const int ChallengeLength = 32;

    /// <summary>32 random bytes; the primary key.</summary>
    public required byte[] Challenge { get; set; }

    /// <summary>The account the challenge was issued to.</summary>
    public Guid AccountId { get; set; }

    /// <summary>After this (UTC) the challenge is refused and may be purged.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}
