using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace Relay.Api.Messages;

/// <summary>
/// <c>Privacy:*</c>: sizes and lifetimes a deployment allows, so that an app cannot tell the relay (or anyone who
/// watches it) a call from a text by a ciphertext's length or a message's ttl by mistake.
/// </summary>
public sealed class PrivacyOptions : IValidatableObject
{
    public const string SectionName = "Privacy";

    /// <summary>The decoded byte lengths a ciphertext may have; none configured means any length that fits.</summary>
    public List<int> CiphertextSizes { get; set; } = [];

    /// <summary>The one <c>ttlSeconds</c> messages may have (an omitted one takes it); none configured means any.</summary>
    public int? TtlSeconds { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (CiphertextSizes.Exists(size => size is < 1 or > 4096))
        {
            yield return new ValidationResult("Privacy:CiphertextSizes must list byte lengths from 1 to 4096.", [nameof(CiphertextSizes)]);
        }

        if (TtlSeconds is < 0 or > SendMessageRequest.MaxTtlSeconds)
        {
            yield return new ValidationResult($"Privacy:TtlSeconds must be from 0 to {SendMessageRequest.MaxTtlSeconds}.", [nameof(TtlSeconds)]);
        }
    }
}

/// <summary>Applies <see cref="PrivacyOptions"/> to a send: the one place that knows the allowed sizes and ttl.</summary>
public sealed class PrivacyPolicy(IOptions<PrivacyOptions> options)
{
    /// <summary>The message's ttl: as asked, else the configured one, else the longest.</summary>
    public int TtlFor(SendMessageRequest request) => request.TtlSeconds ?? options.Value.TtlSeconds ?? SendMessageRequest.MaxTtlSeconds;

    /// <summary>The problem with <paramref name="request"/> under the configured policy, or <see langword="null"/>.</summary>
    public ProblemDetails? Check(SendMessageRequest request)
    {
        var policy = options.Value;
        if (policy.CiphertextSizes.Count > 0
            && DeviceCiphertext.All(request).FirstOrDefault(c => !policy.CiphertextSizes.Contains(Base64Text.DecodedLength(c))) is { } ciphertext)
        {
            return Problems.CiphertextSizeNotAllowed(Base64Text.DecodedLength(ciphertext), policy.CiphertextSizes);
        }

        if (policy.TtlSeconds is { } ttl && request.TtlSeconds is { } asked && asked != ttl)
        {
            return Problems.TtlNotAllowed(asked, ttl);
        }

        return null;
    }
}
