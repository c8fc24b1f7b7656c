using System.ComponentModel.DataAnnotations;
using Relay.Api.Accounts;

namespace Relay.Api.Messages;

public sealed record SendMessageRequest : IValidatableObject
{
    public const int MaxRecipients = 64;
    public const int MaxTtlSeconds = 2_592_000;

    /// <summary>
    /// 1 to 64 distinct recipients: account ids, or <c>{"accountId", "deliveryKey"}</c> objects for accounts that
    /// require their delivery key (and for every recipient of a sealed send).
    /// </summary>
    [Required]
    public List<MessageRecipient>? To { get; init; }

    /// <summary>The recipients' account ids, in the order of <see cref="To"/>: a new list each time, so take it once.</summary>
    internal List<Guid> AccountIds => To!.ConvertAll(r => r.AccountId);

    /// <summary>The encrypted message in standard base64, forwarded exactly as received; or give <c>ciphertexts</c>.</summary>
    /// <example>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</example>
    public string? Ciphertext { get; init; }

    /// <summary>
    /// Instead of <c>ciphertext</c>, one ciphertext per device: exactly the recipients' active devices (without the
    /// sending device), each once; otherwise the answer is 409 with the current devices.
    /// </summary>
    public List<DeviceCiphertext>? Ciphertexts { get; init; }

    /// <summary>Seconds APNs may keep trying, 0 to 2,592,000 (30 days, the default); 0 means now or never.</summary>
    /// <example>2592000</example>
    [Range(0, MaxTtlSeconds)]
    public int? TtlSeconds { get; init; }

    /// <summary>An <c>apns-collapse-id</c>: 1 to 64 visible ASCII characters (0x21 to 0x7E).</summary>
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
            else if (To.Select(r => r.AccountId).Distinct().Count() != To.Count)
            {
                yield return new ValidationResult("to must not list an account twice.", [nameof(To)]);
            }

            if (To.Any(r => r.DeliveryKey is { } key && !DeliveryKeys.IsWellFormed(key)))
            {
                yield return new ValidationResult(DeliveryKeys.WellFormedRule("a deliveryKey in to"), [nameof(To)]);
            }
        }

        if (Ciphertext is not null && !Base64Text.IsValid(Ciphertext))
        {
            yield return new ValidationResult("ciphertext must be non-empty standard base64 (RFC 4648 §4) with padding and no whitespace.", [nameof(Ciphertext)]);
        }

        foreach (var problem in DeviceCiphertext.Validate(Ciphertext, Ciphertexts))
        {
            yield return problem;
        }

        // An HTTP/2 header cannot carry anything else unaltered, and APNs must get the collapse id exactly as sent.
        if (CollapseId is not null && !Apns.ApnsHeaders.IsValidCollapseId(CollapseId))
        {
            yield return new ValidationResult(
                "collapseId must be 1 to 64 visible ASCII characters (0x21 to 0x7E): no space, control character or non-ASCII letter.",
                [nameof(CollapseId)]);
        }
    }
}

/// <summary>One device's ciphertext of a message encrypted per device.</summary>
public sealed record DeviceCiphertext
{
    /// <summary>An active device of a recipient.</summary>
    public Guid? DeviceId { get; init; }

    /// <summary>The device's encrypted message in standard base64, forwarded exactly as received.</summary>
    /// <example>AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=</example>
    public string? Ciphertext { get; init; }

    /// <summary>Every ciphertext of a send: its one, or each device's.</summary>
    public static IEnumerable<string> All(SendMessageRequest request) =>
        request.Ciphertext is { } one ? [one] : request.Ciphertexts?.Select(c => c.Ciphertext!) ?? [];

    /// <summary>Exactly one of <c>ciphertext</c> and <c>ciphertexts</c>, and every entry of the latter complete.</summary>
    internal static IEnumerable<ValidationResult> Validate(string? ciphertext, List<DeviceCiphertext>? ciphertexts)
    {
        if ((ciphertext is null) == (ciphertexts is null))
        {
            yield return new ValidationResult(
                "Give exactly one of ciphertext (one ciphertext every device gets) and ciphertexts (one per device).",
                [nameof(SendMessageRequest.Ciphertext), nameof(SendMessageRequest.Ciphertexts)]);
        }

        for (var i = 0; i < (ciphertexts?.Count ?? 0); i++)
        {
            var entry = ciphertexts![i];
            var at = $"{nameof(SendMessageRequest.Ciphertexts)}[{i}]";
            if (entry?.DeviceId is null)
            {
                yield return new ValidationResult($"ciphertexts[{i}] must name its deviceId.", [$"{at}.{nameof(DeviceId)}"]);
            }

            if (entry?.Ciphertext is null || !Base64Text.IsValid(entry.Ciphertext))
            {
                yield return new ValidationResult(
                    $"ciphertexts[{i}].ciphertext must be non-empty standard base64 (RFC 4648 §4) with padding and no whitespace.",
                    [$"{at}.{nameof(Ciphertext)}"]);
            }
        }
    }
}
