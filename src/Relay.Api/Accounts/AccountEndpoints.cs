using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Relay.Data;

namespace Relay.Api.Accounts;

public static class AccountEndpoints
{
    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/accounts").WithTags("Accounts").RequireRateLimiting(RateLimits.Anonymous).ProducesValidationProblem();
        group.MapPost("/", CreateAccount)
            .WithSummary("Creates an account for an Ed25519 identity key, or returns the existing one.");
        return group;
    }

    internal static async Task<Results<Created<AccountResponse>, Ok<AccountResponse>>> CreateAccount(
        CreateAccountRequest request, RelayDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var identityKey = Convert.FromBase64String(request.IdentityKey!);
        var existing = await FindAsync(db, identityKey, cancellationToken);
        if (existing is not null)
        {
            return TypedResults.Ok(new AccountResponse(existing.Value));
        }

        var account = new Account { Id = Guid.CreateVersion7(), IdentityKey = identityKey, CreatedAt = time.GetUtcNow() };
        db.Accounts.Add(account);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            // Created concurrently with the same key: answer with the account that won.
            db.ChangeTracker.Clear();
            return TypedResults.Ok(new AccountResponse((await FindAsync(db, identityKey, cancellationToken))!.Value));
        }

        return TypedResults.Created((string?)null, new AccountResponse(account.Id));
    }

    private static Task<Guid?> FindAsync(RelayDbContext db, byte[] identityKey, CancellationToken cancellationToken) =>
        db.Accounts.AsNoTracking().Where(a => a.IdentityKey == identityKey).Select(a => (Guid?)a.Id).FirstOrDefaultAsync(cancellationToken);
}

public sealed record CreateAccountRequest : IValidatableObject
{
    /// <summary>The account's Ed25519 public key: 32 bytes, standard base64.</summary>
    /// <example>11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=</example>
    [Required]
    public string? IdentityKey { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (IdentityKey is not null && Base64Text.DecodedLength(IdentityKey) != Account.IdentityKeyLength)
        {
            yield return new ValidationResult("identityKey must be a 32-byte Ed25519 public key in standard base64.", [nameof(IdentityKey)]);
        }
    }
}

public sealed record AccountResponse(Guid AccountId);
