using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Relay.Api.Configuration;
using Relay.Data;

namespace Relay.Api.Auth;

public static class AuthEndpoints
{
    public static RouteGroupBuilder MapAuth(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/auth").WithTags("Auth").RequireRateLimiting(RateLimits.Anonymous).ProducesValidationProblem();
        group.MapPost("/challenge", CreateChallenge)
            .WithSummary("Issues a single-use challenge, valid for 60 seconds, for the account to sign.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/token", CreateToken)
            .WithSummary("Exchanges a signed challenge for a bearer token.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);
        return group;
    }

    internal static async Task<Results<Ok<ChallengeResponse>, ProblemHttpResult>> CreateChallenge(
        ChallengeRequest request, RelayDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var accountId = request.AccountId!.Value;
        if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken))
        {
            return TypedResults.Problem(Problems.UnknownAccount(accountId));
        }

        var now = time.GetUtcNow();
        var challenge = new AuthChallenge
        {
            Challenge = RandomNumberGenerator.GetBytes(AuthChallenge.ChallengeLength),
            AccountId = accountId,
            ExpiresAt = now + AuthOptions.ChallengeLifetime,
        };
        db.AuthChallenges.Add(challenge);
        await db.SaveChangesAsync(cancellationToken);

        // Expired challenges are purged as new ones are issued, so the table stays small without a timer.
        await db.AuthChallenges.Where(c => c.ExpiresAt < now - AuthOptions.ChallengeLifetime).ExecuteDeleteAsync(cancellationToken);
        return TypedResults.Ok(new ChallengeResponse(Convert.ToBase64String(challenge.Challenge), challenge.ExpiresAt));
    }

    internal static async Task<Results<Ok<TokenResponse>, ProblemHttpResult>> CreateToken(
        TokenRequest request, RelayDbContext db, TimeProvider time, BearerTokens tokens, CancellationToken cancellationToken)
    {
        var accountId = request.AccountId!.Value;
        var challenge = Convert.FromBase64String(request.Challenge!);
        var signature = Convert.FromBase64String(request.Signature!);
        var now = time.GetUtcNow();

        // Redeeming deletes the challenge first: it is gone whether or not the signature holds, so each challenge
        // allows one attempt, and two concurrent redemptions cannot both succeed.
        var redeemed = await db.AuthChallenges
            .Where(c => c.Challenge == challenge && c.AccountId == accountId && c.ExpiresAt > now)
            .ExecuteDeleteAsync(cancellationToken);
        if (redeemed != 1)
        {
            return TypedResults.Problem(Problems.ChallengeNotValid());
        }

        var identityKey = await db.Accounts.Where(a => a.Id == accountId).Select(a => a.IdentityKey).FirstOrDefaultAsync(cancellationToken);
        if (identityKey is null || !IdentitySignatures.Verify(identityKey, IdentitySignatures.SignIn(accountId, request.Challenge!), signature))
        {
            return TypedResults.Problem(Problems.SignatureNotValid());
        }

        var (token, expiresAt) = tokens.Issue(accountId);
        return TypedResults.Ok(new TokenResponse(token, expiresAt));
    }
}

public sealed record ChallengeRequest
{
    [Required]
    public Guid? AccountId { get; init; }
}

public sealed record ChallengeResponse(string Challenge, DateTimeOffset ExpiresAt);

public sealed record TokenRequest : IValidatableObject
{
    [Required]
    public Guid? AccountId { get; init; }

    /// <summary>The challenge exactly as issued (base64 of 32 bytes).</summary>
    /// <example>q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=</example>
    [Required]
    public string? Challenge { get; init; }

    /// <summary>Ed25519 signature (64 bytes, base64) over <c>relay-auth-v1:{accountId}:{challenge}</c>.</summary>
    /// <example>6291ZW1nvRtmqj7xmxuYp0jjm4E0ZvnYaKhIFcqkMGAsZaQbH1xplUMTcT3Hd/PZ0UgJIhubWdVKt0sE+2YlBg==</example>
    [Required]
    public string? Signature { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Challenge is not null && Base64Text.DecodedLength(Challenge) != AuthChallenge.ChallengeLength)
        {
            yield return new ValidationResult("challenge must be the 32-byte base64 challenge exactly as issued.", [nameof(Challenge)]);
        }

        if (Signature is not null && Base64Text.DecodedLength(Signature) != 64)
        {
            yield return new ValidationResult("signature must be a 64-byte Ed25519 signature in standard base64.", [nameof(Signature)]);
        }
    }
}

public sealed record TokenResponse(string AccessToken, DateTimeOffset ExpiresAt);
