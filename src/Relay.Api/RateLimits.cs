using System.Threading.RateLimiting;
using Relay.Api.Auth;

namespace Relay.Api;

/// <summary>
/// Rate limits: anonymous endpoints (account creation, sign-in) per client address; authenticated ones per account.
/// Limits come from <c>RateLimits:*</c>; a limited caller gets 429 with Retry-After.
/// </summary>
public static class RateLimits
{
    public const string Anonymous = "anonymous";
    public const string PerAccount = "per-account";

    public static IServiceCollection AddRelayRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var anonymousPerMinute = configuration.GetValue("RateLimits:AnonymousPerMinute", 600);
        var accountPerMinute = configuration.GetValue("RateLimits:AccountPerMinute", 6000);
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await TypedResults.Problem(statusCode: 429, title: "Too many requests", detail: "Slow down and retry after the time in Retry-After.")
                    .ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(Anonymous, context => RateLimitPartition.GetFixedWindowLimiter(
                context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                _ => Window(anonymousPerMinute)));
            limiter.AddPolicy(PerAccount, context => RateLimitPartition.GetFixedWindowLimiter(
                context.User.Identity?.IsAuthenticated == true ? context.User.AccountId().ToString() : "anonymous",
                _ => Window(accountPerMinute)));
        });
        return services;
    }

    private static FixedWindowRateLimiterOptions Window(int perMinute) => new()
    {
        PermitLimit = perMinute,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
    };
}
