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

        var delivery = routes.MapGroup("/v1/accounts/me/delivery").WithTags("Accounts")
            .RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount);
        delivery.MapPut("/", SetDeliveryKey)
            .ProducesValidationProblem()
            .WithSummary("Sets the caller's delivery key, and whether authenticated senders must present it.")
            .WithDescription("Give the key to your contacts inside end-to-end-encrypted messages. The relay keeps only its SHA-256 hash. "
                + "Sealed senders must always present it; with required true, authenticated senders must too (else 403). "
                + "Setting a new key makes the old one stop working at once.");
        delivery.MapGet("/", GetDeliveryKey)
            .WithSummary("Whether the caller has a delivery key and requires it; never the key itself.");
        delivery.MapDelete("/", DeleteDeliveryKey)
            .WithSummary("Removes the caller's delivery key: anyone signed in may send to the account again, and sealed senders no one.");
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

    internal static async Task<NoContent> SetDeliveryKey(
        SetDeliveryKeyRequest request, ClaimsPrincipal user, RelayDbContext db, CancellationToken cancellationToken)
    {
        var hash = DeliveryKeys.Hash(request.Key!);
        var required = request.Required ?? false;
        await db.Accounts.Where(a => a.Id == user.AccountId())
            .ExecuteUpdateAsync(a => a.SetProperty(x => x.DeliveryKeyHash, hash).SetProperty(x => x.DeliveryKeyRequired, required), cancellationToken);
        return TypedResults.NoContent();
    }

    internal static async Task<Ok<DeliveryKeyState>> GetDeliveryKey(ClaimsPrincipal user, RelayDbContext db, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        var state = await db.Accounts.AsNoTracking().Where(a => a.Id == accountId)
            .Select(a => new DeliveryKeyState(a.DeliveryKeyHash != null, a.DeliveryKeyRequired))
            .SingleOrDefaultAsync(cancellationToken);

        // The bearer check has just seen the account; one deleted since reads as having no key.
        return TypedResults.Ok(state ?? new DeliveryKeyState(false, false));
    }

    internal static async Task<NoContent> DeleteDeliveryKey(ClaimsPrincipal user, RelayDbContext db, CancellationToken cancellationToken)
    {
        await db.Accounts.Where(a => a.Id == user.AccountId())
            .ExecuteUpdateAsync(a => a.SetProperty(x => x.DeliveryKeyHash, (byte[]?)null).SetProperty(x => x.DeliveryKeyRequired, false), cancellationToken);
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

public sealed record SetDeliveryKeyRequest : IValidatableObject
{
    /// <summary>16 to 32 random bytes in standard base64, which the account gives its contacts.</summary>
    /// <example>q83vEjRWeJCrze8SNFZ4kA==</example>
    [Required]
    public string? Key { get; init; }

    /// <summary>Whether authenticated senders must present the key as well (sealed senders always must); false if left out.</summary>
    public bool? Required { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Key is not null && !DeliveryKeys.IsWellFormed(Key))
        {
            yield return new ValidationResult(DeliveryKeys.WellFormedRule("key"), [nameof(Key)]);
        }
    }
}

/// <summary>The answer to <c>GET /v1/accounts/me/delivery</c>: never the key, only whether there is one.</summary>
/// <param name="HasKey">Whether the account has set a delivery key.</param>
/// <param name="Required">Whether authenticated senders must present it.</param>
public sealed record DeliveryKeyState(bool HasKey, bool Required);
