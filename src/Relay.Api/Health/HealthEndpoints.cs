using Microsoft.AspNetCore.Diagnostics.HealthChecks;
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

    public static IEndpointRouteBuilder MapRelayHealth(this IEndpointRouteBuilder routes)
    {
        // Liveness runs no check: the process answering is the signal.
        routes.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false }).WithTags("Health");
        routes.MapHealthChecks("/health/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        }).WithTags("Health");
        return routes;
    }
}
