using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Relay.Api.Auth;
using Relay.Api.Realtime;
using Relay.Data;

namespace Relay.Api.Accounts;

public static class AccountEndpoints
{
    public static RouteGroupBuilder MapAccounts(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/accounts").WithTags("Accounts").RequireRateLimiting(RateLimits.Anonymous).ProducesValidationProblem();
        group.MapPost("/", CreateAccount)
            .WithSummary("Creates an account for an Ed25519 identity key, or returns the existing one.");
        routes.MapDelete("/v1/accounts/me", DeleteAccount)
            .WithTags("Accounts")
            .RequireAuthorization()
            .RequireRateLimiting(RateLimits.PerAccount)
            .WithSummary("Deletes the caller's account with its devices, inboxes and pending deliveries; its bearer tokens stop working at once.")
            .WithDescription("Messages the account sent that some device has not received yet are withdrawn with it. "
                + "The same identity key may create a new account later; it gets a new id.");
        return group;
    }

    internal static async Task<NoContent> DeleteAccount(
        ClaimsPrincipal user, RelayDbContext db, IRealtimeBus realtime, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        var devices = await db.Devices.AsNoTracking().Where(d => d.AccountId == accountId).Select(d => d.Id).ToListAsync(cancellationToken);

        // Devices, their deliveries (and so their inboxes), the messages it sent and its challenges go with it
        // (cascades); every bearer token of it is refused from the next request on, on every instance.
        await db.Accounts.Where(a => a.Id == accountId).ExecuteDeleteAsync(cancellationToken);
        await realtime.CloseDevicesAsync(devices);
        return TypedResults.NoContent();
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

        // Created concurrently with the same key: the insert does nothing and the answer is the account that won.
        var id = Guid.CreateVersion7();
        var inserted = await db.Database.SqlQuery<Guid>($"""
            INSERT INTO accounts (id, identity_key, created_at) VALUES ({id}, {identityKey}, {time.GetUtcNow()})
            ON CONFLICT (identity_key) DO NOTHING
            RETURNING id AS "Value"
            """).ToListAsync(cancellationToken);
        return inserted.Count == 1
            ? TypedResults.Created((string?)null, new AccountResponse(id))
            : TypedResults.Ok(new AccountResponse((await FindAsync(db, identityKey, cancellationToken))!.Value));
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
