using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Relay.Api.Auth;
using Relay.Data;

namespace Relay.Api.Realtime;

/// <summary>
/// Admits a realtime request (the negotiation and the connection itself, so a client that skips negotiation is
/// checked too): a valid bearer token (401 otherwise), <c>?deviceId=</c> naming one of the caller's active devices
/// (403 otherwise), and room under the account's connection cap (429 otherwise).
/// </summary>
public sealed class RealtimeGate(RequestDelegate next)
{
    public const string Path = "/v1/realtime";

    /// <summary>The device a realtime request names, or <see langword="null"/>.</summary>
    public static Guid? DeviceOf(HttpContext context) =>
        Guid.TryParse(context.Request.Query["deviceId"].ToString(), out var id) ? id : null;

    public async Task InvokeAsync(
        HttpContext context, IDbContextFactory<RelayDbContext> contexts, IRealtimeBus bus, IOptions<RealtimeOptions> options)
    {
        if (context.User.Identity?.IsAuthenticated != true)
        {
            await context.ChallengeAsync();
            return;
        }

        if (context.Request.Query["deviceId"].Count != 1 || DeviceOf(context) is not { } deviceId)
        {
            await WriteAsync(context, Problems.RealtimeDeviceRequired());
            return;
        }

        var accountId = context.User.AccountId();
        await using (var db = await contexts.CreateDbContextAsync(context.RequestAborted))
        {
            var active = await db.Devices.AsNoTracking()
                .AnyAsync(d => d.Id == deviceId && d.AccountId == accountId && d.InvalidatedAt == null, context.RequestAborted);
            if (!active)
            {
                await WriteAsync(context, Problems.RealtimeDeviceRefused(deviceId));
                return;
            }
        }

        if (await bus.CountOthersAsync(accountId, deviceId) >= options.Value.MaxConnectionsPerAccount)
        {
            await WriteAsync(context, Problems.RealtimeConnectionCap(options.Value.MaxConnectionsPerAccount));
            return;
        }

        await next(context);
    }

    private static Task WriteAsync(HttpContext context, Microsoft.AspNetCore.Mvc.ProblemDetails problem) =>
        TypedResults.Problem(problem).ExecuteAsync(context);
}
