using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Relay.Api.Auth;
using Relay.Data;

namespace Relay.Api.Devices;

/// <summary>
/// Device keys: a device publishes an X25519 public key signed by its account's identity key, and any signed-in
/// account reads another's, so that a sender can encrypt to each device on its own. Readers check the signature
/// against the identity key they trust; the relay checks it too, so a key it lists was signed when published.
/// </summary>
public static class DeviceKeyEndpoints
{
    public static IEndpointRouteBuilder MapDeviceKeys(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1").WithTags("Devices").RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount);
        group.MapPut("/devices/{deviceId:guid}/key", PublishKey)
            .WithSummary("Publishes the X25519 public key of one of the caller's active devices, signed by the account's identity key.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/accounts/{accountId:guid}/devices", ListKeys)
            .WithSummary("Lists the published keys of an account's active devices.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return routes;
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> PublishKey(
        Guid deviceId, PublishDeviceKeyRequest request, ClaimsPrincipal user, RelayDbContext db, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        var signature = Convert.FromBase64String(request.Signature!);
        var identityKey = await db.Accounts.AsNoTracking().Where(a => a.Id == accountId).Select(a => a.IdentityKey).FirstOrDefaultAsync(cancellationToken);
        if (identityKey is null)
        {
            return TypedResults.Problem(Problems.AccountGone());
        }

        if (!IdentitySignatures.Verify(identityKey, IdentitySignatures.DeviceKey(accountId, deviceId, request.PublicKey!), signature))
        {
            return TypedResults.Problem(Problems.DeviceKeySignatureNotValid());
        }

        // One statement: a device deleted, moved or invalidated meanwhile is not given the key.
        var publicKey = Convert.FromBase64String(request.PublicKey!);
        var updated = await db.Devices
            .Where(d => d.Id == deviceId && d.AccountId == accountId && d.InvalidatedAt == null)
            .ExecuteUpdateAsync(set => set.SetProperty(d => d.PublicKey, publicKey).SetProperty(d => d.PublicKeySignature, signature), cancellationToken);
        return updated == 0 ? TypedResults.Problem(Problems.NoActiveDevice(deviceId)) : TypedResults.NoContent();
    }

    internal static async Task<Results<Ok<List<DeviceKey>>, ProblemHttpResult>> ListKeys(
        Guid accountId, RelayDbContext db, CancellationToken cancellationToken)
    {
        // The account and its keyed active devices, flat: an account without any still shows it exists.
        var rows = await (
            from a in db.Accounts.AsNoTracking()
            where a.Id == accountId
            from d in db.Devices.Where(d => d.AccountId == a.Id && d.InvalidatedAt == null && d.PublicKey != null).DefaultIfEmpty()
            orderby d!.RegisteredAt
            select new { DeviceId = (Guid?)d!.Id, d.PublicKey, d.PublicKeySignature })
            .ToListAsync(cancellationToken);
        if (rows.Count == 0)
        {
            return TypedResults.Problem(Problems.UnknownAccount(accountId));
        }

        return TypedResults.Ok(rows.Where(r => r.DeviceId is not null)
            .Select(r => new DeviceKey(r.DeviceId!.Value, Convert.ToBase64String(r.PublicKey!), Convert.ToBase64String(r.PublicKeySignature!)))
            .ToList());
    }
}

public sealed record PublishDeviceKeyRequest : IValidatableObject
{
    /// <summary>The device's X25519 public key: 32 bytes, standard base64.</summary>
    /// <example>3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=</example>
    [Required]
    public string? PublicKey { get; init; }

    /// <summary>
    /// The account identity key's Ed25519 signature (64 bytes, base64) of the UTF-8 text
    /// <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>, the key exactly as in this request.
    /// </summary>
    /// <example>6291ZW1nvRtmqj7xmxuYp0jjm4E0ZvnYaKhIFcqkMGAsZaQbH1xplUMTcT3Hd/PZ0UgJIhubWdVKt0sE+2YlBg==</example>
    [Required]
    public string? Signature { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // Canonical base64 only: readers get the key re-encoded from its bytes and verify the signature over that
        // text, which must be the text that was signed.
        if (PublicKey is not null && (Base64Text.DecodedLength(PublicKey) != Device.PublicKeyLength
                                      || Convert.ToBase64String(Convert.FromBase64String(PublicKey)) != PublicKey))
        {
            yield return new ValidationResult("publicKey must be a 32-byte X25519 public key in canonical standard base64.", [nameof(PublicKey)]);
        }

        if (Signature is not null && Base64Text.DecodedLength(Signature) != Device.PublicKeySignatureLength)
        {
            yield return new ValidationResult("signature must be a 64-byte Ed25519 signature in standard base64.", [nameof(Signature)]);
        }
    }
}

/// <summary>A device's published key, as <c>GET /v1/accounts/{accountId}/devices</c> lists it.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PublicKey">Its X25519 public key (32 bytes, base64), exactly as it was signed.</param>
/// <param name="Signature">The account identity key's Ed25519 signature of <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>.</param>
public sealed record DeviceKey(Guid DeviceId, string PublicKey, string Signature);
