using System.ComponentModel.DataAnnotations;

namespace Relay.Api.Configuration;

/// <summary>The relay's own bearer tokens (<c>Auth:*</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>Base64, at least 32 bytes: the HMAC key of the bearer tokens.</summary>
    public string? SigningKey { get; set; }

    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long an auth challenge may be answered.</summary>
    public static readonly TimeSpan ChallengeLifetime = TimeSpan.FromSeconds(60);

    public const string Issuer = "relay";
    public const string Audience = "relay-v1";

    public byte[] SigningKeyBytes() => Convert.FromBase64String(SigningKey ?? "");
}
