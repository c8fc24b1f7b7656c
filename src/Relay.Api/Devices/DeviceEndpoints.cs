using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Relay.Api.Auth;
using Relay.Api.Realtime;
using Relay.Data;
using Relay.Apns;

namespace Relay.Api.Devices;

public static class DeviceEndpoints
{
    public static RouteGroupBuilder MapDevices(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/devices").WithTags("Devices").RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount).ProducesValidationProblem();
        group.MapPost("/", RegisterDevice)
            .WithSummary("Registers an APNs device token for the caller (moving it from another account if needed).");
        group.MapGet("/", ListDevices)
            .WithSummary("Lists the caller's devices, invalidated ones included.");
        group.MapDelete("/{deviceId:guid}", DeleteDevice)
            .WithSummary("Deletes one of the caller's devices; it gets no more pushes.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    internal static async Task<Results<Created<DeviceResponse>, Ok<DeviceResponse>>> RegisterDevice(
        RegisterDeviceRequest request, ClaimsPrincipal user, RelayDbContext db, IRealtimeBus realtime, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var token = request.Token!.ToLowerInvariant();
        var environment = ApnsEnvironments.Parse(request.Environment);

        // A token another account registered moves: that device is deleted with its pending deliveries and this
        // account gets a new one, so no history or id crosses accounts. A token this account registered again keeps
        // its device, registered anew and without any earlier invalidation. The upsert leaves another account's row
        // alone, so a registration racing this one from elsewhere makes the loop go round once more.
        var accountId = user.AccountId();
        List<UpsertResult> result;
        var moved = new List<Guid>();
        do
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            moved.AddRange(await db.Database.SqlQuery<Guid>($"""
                DELETE FROM devices WHERE token = {token} AND topic = {request.Topic} AND account_id <> {accountId}
                RETURNING id AS "Value"
                """).ToListAsync(cancellationToken));
            result = await db.Database.SqlQuery<UpsertResult>($"""
                INSERT INTO devices (id, account_id, token, topic, environment, registered_at)
                VALUES ({Guid.CreateVersion7()}, {accountId}, {token}, {request.Topic}, {environment.ToText()}, {time.GetUtcNow()})
                ON CONFLICT (token, topic) DO UPDATE SET
                    environment = EXCLUDED.environment,
                    registered_at = EXCLUDED.registered_at,
                    invalidated_at = NULL,
                    invalid_reason = NULL
                WHERE devices.account_id = EXCLUDED.account_id
                RETURNING id AS "Id", (xmax = 0) AS "Inserted"
                """).ToListAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        while (result.Count == 0);

        // The old account's device is gone: so are its inbox (with its deliveries) and its realtime connection.
        await realtime.CloseDevicesAsync(moved);
        var device = new DeviceResponse(result[0].Id);
        return result[0].Inserted ? TypedResults.Created($"/v1/devices/{device.DeviceId}", device) : TypedResults.Ok(device);
    }

    internal static async Task<Ok<List<DeviceSummary>>> ListDevices(ClaimsPrincipal user, RelayDbContext db, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        var devices = await db.Devices.AsNoTracking()
            .Where(d => d.AccountId == accountId)
            .OrderBy(d => d.RegisteredAt)
            .Select(d => new { d.Id, d.Topic, d.Environment, d.Token, d.RegisteredAt, d.LastSuccessAt, d.InvalidatedAt, d.InvalidReason })
            .ToListAsync(cancellationToken);
        return TypedResults.Ok(devices.ConvertAll(d => new DeviceSummary(
            d.Id, d.Topic, d.Environment, d.Token[..8],
            d.RegisteredAt, d.LastSuccessAt, d.InvalidatedAt, d.InvalidReason)));
    }

    internal static async Task<Results<NoContent, ProblemHttpResult>> DeleteDevice(
        Guid deviceId, ClaimsPrincipal user, RelayDbContext db, IRealtimeBus realtime, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        var deleted = await db.Devices.Where(d => d.Id == deviceId && d.AccountId == accountId).ExecuteDeleteAsync(cancellationToken);
        if (deleted == 0)
        {
            return TypedResults.Problem(Problems.UnknownDevice(deviceId));
        }

        // Its deliveries, and so its inbox, went with it.
        await realtime.CloseDevicesAsync([deviceId]);
        return TypedResults.NoContent();
    }

    private sealed record UpsertResult(Guid Id, bool Inserted);
}

public sealed record RegisterDeviceRequest : IValidatableObject
{
    /// <summary>The APNs device token in hex (16–256 bytes), any case.</summary>
    /// <example>5f2d7c1e9a8b4f3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d</example>
    [Required]
    public string? Token { get; init; }

    /// <summary>The app's bundle id; one of the relay's configured apps.</summary>
    /// <example>com.example.chat</example>
    [Required]
    public string? Topic { get; init; }

    /// <summary><c>production</c> or <c>sandbox</c>.</summary>
    /// <example>production</example>
    [Required]
    public string? Environment { get; init; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Token is not null && !ApnsHeaders.IsValidDeviceToken(Token))
        {
            yield return new ValidationResult("token must be the APNs device token in hex: 16 to 256 bytes, an even number of hex digits.", [nameof(Token)]);
        }

        if (Environment is not null && !ApnsEnvironments.TryParse(Environment, out _))
        {
            yield return new ValidationResult("environment must be \"production\" or \"sandbox\".", [nameof(Environment)]);
        }

        var apps = validationContext.GetService(typeof(IOptions<ApnsApps>)) as IOptions<ApnsApps>;
        if (Topic is not null && apps?.Value.Find(Topic) is null)
        {
            yield return new ValidationResult(
                string.Format(CultureInfo.InvariantCulture, "topic must be one of the relay's apps: {0}.", string.Join(", ", apps?.Value.Apps.Select(a => a.Topic) ?? [])),
                [nameof(Topic)]);
        }
    }
}

public sealed record DeviceResponse(Guid DeviceId);

public sealed record DeviceSummary(
    Guid DeviceId, string Topic, ApnsEnvironment Environment, string TokenPrefix,
    DateTimeOffset RegisteredAt, DateTimeOffset? LastSuccessAt, DateTimeOffset? InvalidatedAt, string? InvalidReason);
