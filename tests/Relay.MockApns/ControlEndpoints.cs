using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Relay.MockApns;

/// <summary>
/// <c>/control/*</c> for the dev stack and benchmarks (the same HTTP/2 TLS listener as the APNs endpoint) and
/// <c>/health</c> for container health checks.
/// </summary>
internal static class ControlEndpoints
{
    public static IEndpointRouteBuilder MapControlEndpoints(this IEndpointRouteBuilder endpoints, MockApnsServer server)
    {
        endpoints.MapGet("/health", () => TypedResults.Text("ok"));

        var control = endpoints.MapGroup("/control");
        control.MapGet("/notifications", (string? token, int? take) =>
        {
            IEnumerable<MockApnsNotification> notifications =
                token is null ? server.Notifications : server.NotificationsFor(token);
            if (take is > 0)
            {
                notifications = notifications.TakeLast(take.Value);
            }

            return TypedResults.Ok(notifications.Select(NotificationView.From).ToArray());
        });
        control.MapGet("/counters", () => TypedResults.Ok(server.Counters));
        control.MapPost("/reset", () =>
        {
            server.Clear();
            return TypedResults.NoContent();
        });
        control.MapPut("/script/{token}", Results<NoContent, ValidationProblem> (string token, BehaviorRequest request) =>
        {
            if (!request.TryCreate(out var behavior, out var errors))
            {
                return TypedResults.ValidationProblem(errors);
            }

            server.Script(token, behavior);
            return TypedResults.NoContent();
        });
        control.MapDelete("/script/{token}", Results<NoContent, NotFound> (string token) =>
            server.ClearScript(token) ? TypedResults.NoContent() : TypedResults.NotFound());
        control.MapDelete("/script", () =>
        {
            server.ClearScripts();
            return TypedResults.NoContent();
        });
        control.MapPut("/fault", Results<NoContent, ValidationProblem> (BehaviorRequest request) =>
        {
            if (request.Every is not > 0)
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]>
                {
                    ["every"] = ["Give every > 0: the fault hits every n-th request."],
                });
            }

            if (!request.TryCreate(out var behavior, out var errors))
            {
                return TypedResults.ValidationProblem(errors);
            }

            server.InjectFaultEvery(request.Every.Value, behavior);
            return TypedResults.NoContent();
        });
        control.MapDelete("/fault", () =>
        {
            server.StopInjectingFaults();
            return TypedResults.NoContent();
        });
        return endpoints;
    }
}

/// <summary>A recorded notification as JSON: the body both as base64 and as UTF-8 text.</summary>
internal sealed record NotificationView(
    string DeviceToken,
    string Topic,
    string ApnsId,
    IReadOnlyDictionary<string, string> Headers,
    bool HasAuthorization,
    DateTimeOffset ProviderTokenIssuedAt,
    string ConnectionId,
    DateTimeOffset ReceivedAt,
    int BodyLength,
    string BodyBase64,
    string BodyText,
    IReadOnlyList<string> RequestHeaderNames)
{
    public static NotificationView From(MockApnsNotification n) => new(
        n.DeviceToken, n.Topic, n.ApnsId, n.Headers, n.HasAuthorization, n.ProviderTokenIssuedAt, n.ConnectionId,
        n.ReceivedAt, n.BodyLength, Convert.ToBase64String(n.Body.Span), Encoding.UTF8.GetString(n.Body.Span),
        [.. n.RequestHeaders.Keys.Select(k => k.ToLowerInvariant()).Order(StringComparer.Ordinal)]);
}

/// <summary>
/// A behaviour as JSON, e.g. <c>{"kind":"Reject","status":410,"reason":"Unregistered","times":2}</c>,
/// <c>{"kind":"Accept","delayMs":500}</c>, <c>{"kind":"ResetConnection"}</c>, <c>{"kind":"GoAway"}</c>,
/// <c>{"kind":"ResetStream","errorCode":7}</c>, <c>{"kind":"Reject","status":503,"reason":"ServiceUnavailable","retryAfter":"30"}</c>;
/// <c>every</c> only for <c>PUT /control/fault</c>.
/// </summary>
internal sealed record BehaviorRequest(
    MockApnsBehaviorKind Kind,
    int? Status,
    string? Reason,
    long? Timestamp,
    int? DelayMs,
    int? Times,
    int? ErrorCode,
    int? Every,
    string? RetryAfter = null)
{
    public bool TryCreate(out MockApnsBehavior behavior, out Dictionary<string, string[]> errors)
    {
        errors = [];
        behavior = MockApnsBehavior.Accept;
        switch (Kind)
        {
            case MockApnsBehaviorKind.Reject when Status is not (>= 400 and <= 599):
                errors["status"] = ["A rejection needs a status from 400 to 599."];
                break;
            case MockApnsBehaviorKind.Reject when string.IsNullOrWhiteSpace(Reason):
                errors["reason"] = ["A rejection needs Apple's reason, e.g. Unregistered."];
                break;
            case MockApnsBehaviorKind.Reject:
                behavior = MockApnsBehavior.Reject(Status!.Value, Reason!, Timestamp);
                break;
            case MockApnsBehaviorKind.ResetStream:
                behavior = MockApnsBehavior.ResetStream(ErrorCode is >= 0 ? ErrorCode.Value : MockApnsBehavior.RefusedStreamErrorCode);
                break;
            case MockApnsBehaviorKind.ResetConnection:
                behavior = MockApnsBehavior.ResetConnection;
                break;
            case MockApnsBehaviorKind.GoAway:
                behavior = MockApnsBehavior.GoAway;
                break;
        }

        if (DelayMs is < 0)
        {
            errors["delayMs"] = ["The delay cannot be negative."];
        }

        if (Times is < 1)
        {
            errors["times"] = ["times must be at least 1 (leave it out for 'always')."];
        }

        if (errors.Count > 0)
        {
            return false;
        }

        if (DelayMs is > 0)
        {
            behavior = behavior.WithDelay(TimeSpan.FromMilliseconds(DelayMs.Value));
        }

        if (Times is not null)
        {
            behavior = behavior.Times(Times.Value);
        }

        if (!string.IsNullOrWhiteSpace(RetryAfter))
        {
            behavior = behavior.WithRetryAfter(RetryAfter);
        }

        return true;
    }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(NotificationView[]))]
[JsonSerializable(typeof(MockApnsCounters))]
[JsonSerializable(typeof(BehaviorRequest))]
internal sealed partial class ControlJsonContext : JsonSerializerContext;
