using System.Security.Claims;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace Relay.Api.Auth;

/// <summary>
/// Marks an endpoint that checks itself, in the same database round trip as its own work, that the bearer's account
/// still exists (and answers 401 Account gone when it does not), so the bearer check skips its own lookup.
/// </summary>
internal sealed class AccountCheckedByEndpoint
{
    public static AccountCheckedByEndpoint Instance { get; } = new();
}

/// <summary>
/// What the JWT bearer handler does beyond checking the token: the account must still exist, and every 401 is a
/// problem that says which case it is (missing, malformed, expired, not signed by this relay, account gone).
/// </summary>
internal static class BearerEvents
{
    /// <summary>The <c>WWW-Authenticate</c> value of a 401 for a token the relay cannot accept (RFC 6750 §3.1).</summary>
    public const string InvalidTokenChallenge = "Bearer error=\"invalid_token\"";

    private const string AccountGoneItem = "Relay.AccountGone";
    private const string OutageItem = "Relay.AuthDatabaseOutage";


    public static JwtBearerEvents Create() => new()
    {
        OnTokenValidated = CheckAccountAsync,
        OnChallenge = ChallengeAsync,
    };

    private static async Task CheckAccountAsync(TokenValidatedContext context)
    {
        if (!Guid.TryParse(context.Principal?.FindFirstValue(JwtRegisteredClaimNames.Sub), out var accountId))
        {
            context.Fail(new SecurityTokenMalformedException("The token names no account."));
            return;
        }

        // A send checks its sender in the same lookup as its recipients: one batched query instead of two.
        if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<AccountCheckedByEndpoint>() is not null)
        {
            return;
        }

        // Every authenticated request, no cache: a deleted account's tokens stop working at once, on every instance.
        // The probes of concurrent requests share one query (RecipientLookup batches them).
        var accounts = context.HttpContext.RequestServices.GetRequiredService<Messages.RecipientLookup>();
        bool exists;
        try
        {
            exists = await accounts.ExistsAsync(accountId, context.HttpContext.RequestAborted);
        }
        catch (Exception e) when (Deliveries.DatabaseOutage.IsOutage(e))
        {
            // Answered 503 by the challenge, like any request that needs the database now; thrown on, the JWT handler
            // would log an error per request for an outage the relay already reports.
            context.HttpContext.Items[OutageItem] = e;
            context.Fail(e);
            return;
        }

        if (!exists)
        {
            context.HttpContext.Items[AccountGoneItem] = true;
            context.Fail("The token's account no longer exists.");
        }
    }

    private static async Task ChallengeAsync(JwtBearerChallengeContext context)
    {
        context.HandleResponse();
        var http = context.HttpContext;
        if (http.Items[OutageItem] is Exception outage)
        {
            var services = http.RequestServices;
            await Deliveries.DatabaseOutage.AnswerAsync(http, http.GetEndpoint(), outage,
                services.GetRequiredService<IProblemDetailsService>(), services.GetRequiredService<ILogger<Deliveries.DatabaseOutage>>());
            return;
        }

        var problem = http.Items.ContainsKey(AccountGoneItem) ? Problems.AccountGone()
            : context.AuthenticateFailure switch
            {
                null when !http.Request.Headers.ContainsKey(HeaderNames.Authorization) => Problems.BearerMissing(),
                null or SecurityTokenMalformedException or ArgumentException => Problems.BearerMalformed(),
                SecurityTokenExpiredException => Problems.BearerExpired(),
                _ => Problems.BearerNotSigned(),
            };

        http.Response.StatusCode = StatusCodes.Status401Unauthorized;
        http.Response.Headers.WWWAuthenticate = context.AuthenticateFailure is null && !http.Items.ContainsKey(AccountGoneItem)
            ? "Bearer"
            : InvalidTokenChallenge;
        await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = problem,
        });
    }
}
