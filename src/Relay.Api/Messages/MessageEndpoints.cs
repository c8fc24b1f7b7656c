using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Relay.Api.Auth;

namespace Relay.Api.Messages;

public static class MessageEndpoints
{
    /// <summary>The body limit of <c>POST /v1/messages</c>.</summary>
    public const long MaxBodyBytes = 16 * 1024;

    /// <summary>The optional header that makes a send safe to repeat.</summary>
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/messages").WithTags("Messages").RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount);
        group.MapPost("/", SendMessage)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes), AccountCheckedByEndpoint.Instance)
            .WithSummary("Pushes an encrypted message to every active device of the recipients.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithDescription("The message and one delivery per active device of each recipient are stored before the answer; "
                + "the ciphertext is forwarded byte for byte inside an alert notification with mutable-content 1. Each delivery "
                + "is sent, failed, or retrying (the relay keeps trying until the message expires). With an Idempotency-Key, "
                + "a repeat answers with the first message's current state and sends nothing again. With ciphertexts instead of "
                + "ciphertext, each device gets its own; they must name exactly the recipients' active devices, else 409 lists them.");
        group.MapGet("/{messageId:guid}", GetMessage)
            .WithSummary("The current state of every delivery of a message the caller sent.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        // Not in the group: no Authorization, and its own rate limit.
        routes.MapPost("/v1/messages/sealed", SendSealed)
            .WithTags("Messages")
            .RequireRateLimiting(RateLimits.SealedPerAddress)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .WithSummary("Pushes an encrypted message without saying who sends it: every recipient is named with its delivery key.")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithDescription("No Authorization header: the relay neither learns nor stores nor logs the sender. Every to entry must be "
                + "{accountId, deliveryKey} with the recipient's current key; one wrong or missing key, or an account that does not "
                + "exist, refuses the whole message with the same 401, without saying which. There is no status endpoint and no "
                + "DeliveryUpdated for a sealed message. Rate-limited per client address and per recipient.");
        return group;
    }

    internal static async Task<Results<Ok<SendMessageResponse>, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, ClaimsPrincipal user, HttpContext http, MessageSender sender, PrivacyPolicy privacy, IHostApplicationLifetime lifetime)
    {
        if (Refuse(request, http, sender, privacy, lifetime, out var key) is { } refused)
        {
            return refused;
        }

        // Accepting and the first attempts are not tied to the caller's connection: a caller that hangs up does not
        // stop the pushes or lose what they teach us about devices.
        var outcome = await sender.SendAsync(user.AccountId(), request, key, CancellationToken.None);
        return outcome switch
        {
            { Response: { } response } => TypedResults.Ok(response),
            { Unknown: { } unknown } => TypedResults.Problem(Problems.UnknownAccount(unknown)),
            { KeyRefused: { } accountId } => TypedResults.Problem(Problems.DeliveryKeyRequired(accountId)),
            { IsKeyReused: true } => TypedResults.Problem(Problems.IdempotencyKeyReused()),
            { ChangedDevices: { } devices } => TypedResults.Problem(Problems.DevicesChanged(devices)),
            _ => AccountGone(http),
        };
    }

    /// <summary>The sender's account is gone (the send's own lookup found it missing): the bearer check's 401, word for word.</summary>
    private static ProblemHttpResult AccountGone(HttpContext http)
    {
        http.Response.Headers.WWWAuthenticate = BearerEvents.InvalidTokenChallenge;
        return TypedResults.Problem(Problems.AccountGone());
    }

    internal static async Task<Results<Ok<SealedSendResponse>, ProblemHttpResult>> SendSealed(
        SendMessageRequest request, HttpContext http, MessageSender sender, PrivacyPolicy privacy, IHostApplicationLifetime lifetime)
    {
        if (request.FromDeviceId is not null)
        {
            return TypedResults.Problem(Problems.SealedFromDevice());
        }

        if (Refuse(request, http, sender, privacy, lifetime, out var key) is { } refused)
        {
            return refused;
        }

        var outcome = await sender.SendAsync(null, request, key, CancellationToken.None);
        return outcome switch
        {
            { Response: { } response } => TypedResults.Ok(SealedSendResponse.From(response)),
            { RetryAfter: { } wait } => TooManyRequests(http, wait),
            { IsKeyReused: true } => TypedResults.Problem(Problems.IdempotencyKeyReused()),

            // Only once every recipient's delivery key was right: such a sender may learn their devices, as any
            // signed-in account may.
            { ChangedDevices: { } devices } => TypedResults.Problem(Problems.DevicesChanged(devices)),
            _ => TypedResults.Problem(Problems.SealedRefused()),
        };
    }

    private static ProblemHttpResult TooManyRequests(HttpContext http, TimeSpan wait)
    {
        http.Response.Headers.RetryAfter = RateLimits.RetryAfterText(wait);
        return TypedResults.Problem(Problems.TooManyRequests());
    }

    /// <summary>The checks every send makes before it looks anything up; null when the request may go on.</summary>
    private static ProblemHttpResult? Refuse(
        SendMessageRequest request, HttpContext http, MessageSender sender, PrivacyPolicy privacy, IHostApplicationLifetime lifetime, out string? key)
    {
        key = null;
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            http.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(Problems.Stopping());
        }

        if (http.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            key = keys.Count == 1 ? keys[0] : null;
            if (key is null || !IsValidIdempotencyKey(key))
            {
                return TypedResults.Problem(Problems.BadIdempotencyKey());
            }
        }

        var maxLength = sender.MaxCiphertextLength;
        if (DeviceCiphertext.All(request).FirstOrDefault(c => c.Length > maxLength) is { } tooLarge)
        {
            return TypedResults.Problem(Problems.CiphertextTooLarge(tooLarge.Length, maxLength));
        }

        return privacy.Check(request) is { } refused ? TypedResults.Problem(refused) : null;
    }

    internal static async Task<Results<Ok<MessageState>, ProblemHttpResult>> GetMessage(
        Guid messageId, ClaimsPrincipal user, MessageSender sender, CancellationToken cancellationToken) =>
        await sender.FindAsync(user.AccountId(), messageId, cancellationToken) is { } state
            ? TypedResults.Ok(state)
            : TypedResults.Problem(Problems.UnknownMessage(messageId));

    /// <summary>1 to 255 visible ASCII characters.</summary>
    private static bool IsValidIdempotencyKey(string key) =>
        key.Length is > 0 and <= Relay.Data.Message.IdempotencyKeyMaxLength && key.All(c => c is >= '!' and <= '~');
}
