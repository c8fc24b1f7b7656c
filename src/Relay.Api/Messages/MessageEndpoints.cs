using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Relay.Api.Messages;

public static class MessageEndpoints
{
    /// <summary>The body limit of <c>POST /v1/messages</c>.</summary>
    public const long MaxBodyBytes = 16 * 1024;

    public static RouteGroupBuilder MapMessages(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/v1/messages").WithTags("Messages").RequireAuthorization().RequireRateLimiting(RateLimits.PerAccount).ProducesValidationProblem();
        group.MapPost("/", SendMessage)
            .WithMetadata(new RequestSizeLimitAttribute(MaxBodyBytes))
            .WithSummary("Pushes an encrypted message to every active device of the recipients.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .WithDescription("The ciphertext is forwarded byte for byte inside an alert notification with mutable-content 1; "
                + "the answer lists one delivery per active device of each recipient.");
        return group;
    }

    internal static async Task<Results<Ok<SendMessageResponse>, ProblemHttpResult>> SendMessage(
        SendMessageRequest request, MessageDispatcher dispatcher)
    {
        var maxLength = dispatcher.MaxCiphertextLength;
        if (request.Ciphertext!.Length > maxLength)
        {
            return TypedResults.Problem(Problems.CiphertextTooLarge(request.Ciphertext.Length, maxLength));
        }

        // The sends and what they teach us about devices are not tied to the caller's connection: a caller that
        // hangs up does not stop the pushes or lose the invalidations they bring back.
        var result = await dispatcher.SendAsync(request, CancellationToken.None);
        return result.UnknownAccount is { } unknown
            ? TypedResults.Problem(Problems.UnknownAccount(unknown))
            : TypedResults.Ok(result.Response!);
    }
}
