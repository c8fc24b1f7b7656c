using System.ComponentModel.DataAnnotations;
using System.Text;

namespace Relay.Api.Messages;

public sealed record SendMessageRequest : IValidatableObject
{
    public const int MaxRecipients = 64;
    public const int MaxTtlSeconds = 2_592_000;

    /// <summary>1 to 64 distinct account ids.</summary>
    [Required]
    public List<Guid>? To { get; init; }

    /// <summary>The encrypted message in standard base64, forwarded exactly as received.</summary>
    /// <example>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</example>
    [Required]
    public string? Ciphertext { get; init; }

    /// <summary>Seconds APNs may keep trying, 0 to 2,592,000 (30 days, the default); 0 means now or never.</summary>
    /// <example>2592000</example>
    [Range(0, MaxTtlSeconds)]
    public int? TtlSeconds { get; init; }

    /// <summary>An <c>apns-collapse-id</c>: 1 to 64 UTF-8 bytes.</summary>
    /// <example>conversation-42</example>
    public string? CollapseId { get; init; }

    /// <summary>
    /// The sender's own device this message comes from, when the sender lists its own account in <c>to</c>: every
    /// other device of the account gets the message, this one does not.
    /// </summary>
    public Guid? FromDeviceId { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (To is not null)
        {
            if (To.Count is 0 or > MaxRecipients)
            {
                yield return new ValidationResult($"to must list 1 to {MaxRecipients} account ids.", [nameof(To)]);
            }
            else if (To.Distinct().Count() != To.Count)
            {
                yield return new ValidationResult("to must not list an account twice.", [nameof(To)]);
            }
        }

        if (Ciphertext is not null && !Base64Text.IsValid(Ciphertext))
        {
            yield return new ValidationResult("ciphertext must be non-empty standard base64 (RFC 4648 §4) with padding and no whitespace.", [nameof(Ciphertext)]);
        }

        if (CollapseId is not null && Encoding.UTF8.GetByteCount(CollapseId) is 0 or > Apns.ApnsHeaders.MaxCollapseIdBytes)
        {
            yield return new ValidationResult("collapseId must be 1 to 64 UTF-8 bytes.", [nameof(CollapseId)]);
        }
    }
}
