using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Relay.Api.Auth;
using Relay.Data;

namespace Relay.Api.Inbox;

/// <summary>The inbox over REST, for clients without a realtime connection (a Notification Service Extension).</summary>
public static class InboxEndpoints
{
    public const int DefaultLimit = 100;

    public static RouteGroupBuilder MapInbox(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/inbox").WithTags("Inbox").RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount);
        group.MapGet("/", ListInbox)
            .WithSummary("A device's unacknowledged, unexpired messages, oldest first.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/acks", Acknowledge)
            .WithSummary("Acknowledges messages for a device: they become delivered and leave its inbox.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }

    /// <param name="deviceId">One of the caller's devices.</param>
    /// <param name="limit">At most this many messages (1 to 500; 100 if not given).</param>
    /// <param name="after">Only messages after this message id: the last one of the previous page.</param>
    /// <param name="user">The caller.</param>
    /// <param name="db">The relay's database.</param>
    /// <param name="inbox">The inboxes.</param>
    /// <param name="cancellationToken">The request's cancellation.</param>
    internal static async Task<Results<Ok<InboxPage>, ProblemHttpResult>> ListInbox(
        Guid deviceId, int? limit, Guid? after, ClaimsPrincipal user, RelayDbContext db, InboxService inbox, CancellationToken cancellationToken)
    {
        if (limit is < 1 or > InboxService.MaxPage)
        {
            return TypedResults.Problem(Problems.InboxLimit(InboxService.MaxPage));
        }

        if (!await IsCallersDeviceAsync(db, user, deviceId, cancellationToken))
        {
            return TypedResults.Problem(Problems.UnknownDevice(deviceId));
        }

        var (messages, more) = await inbox.ListAsync(deviceId, limit ?? DefaultLimit, after, cancellationToken);
        return TypedResults.Ok(new InboxPage(
            messages.ConvertAll(m => new InboxEntry(m.MessageId, m.Ciphertext, m.CollapseId, m.SentAt, m.ExpiresAt)), more));
    }

    internal static async Task<Results<Ok<AckResponse>, ProblemHttpResult>> Acknowledge(
        AckRequest request, ClaimsPrincipal user, RelayDbContext db, InboxService inbox, CancellationToken cancellationToken)
    {
        var deviceId = request.DeviceId!.Value;
        if (!await IsCallersDeviceAsync(db, user, deviceId, cancellationToken))
        {
            return TypedResults.Problem(Problems.UnknownDevice(deviceId));
        }

        return TypedResults.Ok(new AckResponse(await inbox.AcknowledgeAsync(deviceId, request.MessageIds!, cancellationToken)));
    }

    private static Task<bool> IsCallersDeviceAsync(RelayDbContext db, ClaimsPrincipal user, Guid deviceId, CancellationToken cancellationToken)
    {
        var accountId = user.AccountId();
        return db.Devices.AsNoTracking().AnyAsync(d => d.Id == deviceId && d.AccountId == accountId, cancellationToken);
    }
}

/// <summary>One page of a device's inbox.</summary>
public sealed record InboxPage(IReadOnlyList<InboxEntry> Messages, bool More);

/// <summary>A message waiting for a device.</summary>
public sealed record InboxEntry(Guid MessageId, string Ciphertext, string? CollapseId, DateTimeOffset SentAt, DateTimeOffset ExpiresAt);

public sealed record AckRequest
{
    /// <summary>The caller's device the messages reached.</summary>
    [Required]
    public Guid? DeviceId { get; init; }

    /// <summary>The messages to acknowledge (1 to 500).</summary>
    [Required]
    [Length(1, InboxService.MaxPage)]
    public List<Guid>? MessageIds { get; init; }
}

/// <summary>How many of the messages were newly acknowledged.</summary>
public sealed record AckResponse(int Acknowledged);
