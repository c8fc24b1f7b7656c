using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Relay.Data;

namespace Relay.Api.Health;

public static class HealthEndpoints
{
    public const string ReadyTag = "ready";

    public static IServiceCollection AddRelayHealth(this IServiceCollection services)
    {
        services.AddSingleton<ApnsHealth>();
        services.AddHealthChecks()
            .AddDbContextCheck<RelayDbContext>("postgresql", tags: [ReadyTag])
            .AddCheck<ApnsHealth>("apns", tags: [ReadyTag]);
        return services;
    }

    public static RouteGroupBuilder MapRelayHealth(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/health").WithTags("Health").DisableRateLimiting();

        // Liveness runs no check: the process answering is the signal.
        group.MapGet("/live", () => TypedResults.Ok(new HealthReportBody("Healthy", new Dictionary<string, HealthCheckStatus>())))
            .WithSummary("Liveness")
            .WithDescription("200 while the process runs; no dependency is checked.");
        group.MapGet("/ready", Ready)
            .WithSummary("Readiness")
            .Produces<HealthReportBody>(StatusCodes.Status503ServiceUnavailable)
            .WithDescription("200 when PostgreSQL answers, 503 when it does not. The apns check reads Degraded after APNs rejected "
                + "the relay's key, team or topic, until a push succeeds again.");
        return group;
    }

    internal static async Task<Results<Ok<HealthReportBody>, JsonHttpResult<HealthReportBody>>> Ready(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(check => check.Tags.Contains(ReadyTag), cancellationToken);
        var status = new HealthReportBody(
            report.Status.ToString(),
            report.Entries.ToDictionary(e => e.Key, e => new HealthCheckStatus(e.Value.Status.ToString(), e.Value.Description)));
        return report.Status == HealthStatus.Unhealthy
            ? TypedResults.Json(status, statusCode: StatusCodes.Status503ServiceUnavailable)
            : TypedResults.Ok(status);
    }
}

public sealed record HealthReportBody(string Status, IReadOnlyDictionary<string, HealthCheckStatus> Checks);

public sealed record HealthCheckStatus(string Status, string? Description);
