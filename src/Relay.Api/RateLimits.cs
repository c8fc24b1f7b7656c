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
    public const string SealedPerAddress = "sealed-per-address";

    /// <summary>The <c>Retry-After</c> value for a wait: whole seconds, rounded up, at least 1.</summary>
    public static string RetryAfterText(TimeSpan wait) =>
        Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public static IServiceCollection AddRelayRateLimits(this IServiceCollection services, IConfiguration configuration)
    {
        var anonymousPerMinute = configuration.GetValue("RateLimits:AnonymousPerMinute", 600);
        var accountPerMinute = configuration.GetValue("RateLimits:AccountPerMinute", 6000);
        var sealedPerAddressPerMinute = configuration.GetValue("RateLimits:SealedPerAddressPerMinute", 600);
        services.AddSingleton(new SealedSendLimits(configuration.GetValue("RateLimits:SealedPerRecipientPerMinute", 120)));
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = async (context, cancellationToken) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = RetryAfterText(retryAfter);
                }

                await TypedResults.Problem(Problems.TooManyRequests()).ExecuteAsync(context.HttpContext);
            };
            limiter.AddPolicy(Anonymous, context => RateLimitPartition.GetFixedWindowLimiter(
                ClientAddress(context),
                _ => Window(anonymousPerMinute)));
            limiter.AddPolicy(PerAccount, context => RateLimitPartition.GetFixedWindowLimiter(
                context.User.Identity?.IsAuthenticated == true ? context.User.AccountId().ToString() : "anonymous",
                _ => Window(accountPerMinute)));
            limiter.AddPolicy(SealedPerAddress, context => RateLimitPartition.GetFixedWindowLimiter(
                ClientAddress(context),
                _ => Window(sealedPerAddressPerMinute)));
        });
        return services;
    }

    /// <summary>The partition of the per-address limits: the client's network address.</summary>
    private static string ClientAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    internal static FixedWindowRateLimiterOptions Window(int perMinute) => new()
    {
        PermitLimit = perMinute,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
    };
}

/// <summary>
/// The per-recipient limit of sealed sends (<c>RateLimits:SealedPerRecipientPerMinute</c>), counted only for senders
/// who presented the recipients' keys, so a stranger cannot spend a recipient's allowance. A message takes one permit
/// of each recipient, and none while any of them is spent.
/// </summary>
public sealed class SealedSendLimits(int perRecipientPerMinute) : IDisposable
{
    private readonly PartitionedRateLimiter<Guid> _limiter = PartitionedRateLimiter.Create<Guid, Guid>(
        accountId => RateLimitPartition.GetFixedWindowLimiter(accountId, _ => RateLimits.Window(perRecipientPerMinute)));

    /// <summary>Null if the message may go to every one of <paramref name="accountIds"/>, else how long to wait.</summary>
    public TimeSpan? Acquire(IReadOnlyList<Guid> accountIds)
    {
        // Look first, so that a refused message spends nobody's permits (two racing messages may both pass the look;
        // the acquisitions below then still hold the limit, give or take one message).
        if (accountIds.Any(id => _limiter.GetStatistics(id)?.CurrentAvailablePermits == 0))
        {
            return Wait(accountIds.Select(id => _limiter.AttemptAcquire(id, 0)));
        }

        foreach (var accountId in accountIds)
        {
            using var lease = _limiter.AttemptAcquire(accountId);
            if (!lease.IsAcquired)
            {
                return Wait([lease]);
            }
        }

        return null;
    }

    public void Dispose() => _limiter.Dispose();

    private static TimeSpan Wait(IEnumerable<RateLimitLease> leases)
    {
        var wait = TimeSpan.Zero;
        foreach (var lease in leases)
        {
            if (!lease.IsAcquired && lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > wait)
            {
                wait = retryAfter;
            }

            lease.Dispose();
        }

        return wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1);
    }
}
