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
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
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
        return group;
    }

    internal static async Task<Results<Ok<SendMessageResponse>, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, ClaimsPrincipal user, HttpContext http, MessageSender sender, PrivacyPolicy privacy, IHostApplicationLifetime lifetime)
    {
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            http.Response.Headers.RetryAfter = "1";
            return TypedResults.Problem(Problems.Stopping());
        }

        string? key = null;
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

        if (privacy.Check(request) is { } refused)
        {
            return TypedResults.Problem(refused);
        }

        // Accepting and the first attempts are not tied to the caller's connection: a caller that hangs up does not
        // stop the pushes or lose what they teach us about devices.
        var outcome = await sender.SendAsync(user.AccountId(), request, key, CancellationToken.None);
        return outcome switch
        {
            { Response: { } response } => TypedResults.Ok(response),
            { Unknown: { } unknown } => TypedResults.Problem(Problems.UnknownAccount(unknown)),
            { IsKeyReused: true } => TypedResults.Problem(Problems.IdempotencyKeyReused()),
            { ChangedDevices: { } devices } => TypedResults.Problem(Problems.DevicesChanged(devices)),
            _ => TypedResults.Problem(Problems.AccountGone()),
        };
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
