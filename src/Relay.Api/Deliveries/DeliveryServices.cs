using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Relay.Api.Health;
using Relay.Api.Messages;
using Relay.Apns;
using Relay.Data;

namespace Relay.Api.Deliveries;

/// <summary>Durable delivery: accepting, first attempts, the background dispatcher and their options.</summary>
public static class DeliveryServices
{
    public static WebApplicationBuilder AddRelayDelivery(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DeliveryOptions>()
            .Bind(builder.Configuration.GetSection(DeliveryOptions.SectionName))
            .ValidateDataAnnotations()
            .Validate(o => o.RetryMaxDelay >= o.RetryInitialDelay, "Delivery:RetryMaxDelay must not be shorter than Delivery:RetryInitialDelay.")
            .Validate<IOptions<ApnsOptions>>((o, apns) => o.LeaseTimeout > apns.Value.RequestTimeout,
                "Delivery:LeaseTimeout must be longer than Apns:RequestTimeout, or another instance could take over an attempt still in flight.")
            .ValidateOnStart();

        // The host's own deadline covers the attempts' drain and the final writes.
        services.AddOptions<HostOptions>().Configure<IOptions<DeliveryOptions>>((host, delivery) =>
            host.ShutdownTimeout = delivery.Value.ShutdownTimeout + TimeSpan.FromSeconds(10));

        services.AddOptions<PrivacyOptions>()
            .Bind(builder.Configuration.GetSection(PrivacyOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<PrivacyPolicy>();
        services.AddSingleton<RelayInstance>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<DeliveryOptions>>().Value;
            return new DeliveryPolicy(o.RetryInitialDelay, o.RetryMaxDelay);
        });
        services.AddSingleton<OutageGates>();
        services.AddSingleton<DeliveryAttempts>();
        services.AddSingleton<MessageSender>();
        services.AddSingleton<RecipientLookup>();
        services.AddSingleton<MessageIntake>();
        services.AddSingleton<Inbox.InboxCap>();
        services.AddSingleton<DeliveryWriter>();
        services.AddSingleton<DeliverySuccesses>();
        services.AddSingleton<DeliveryDispatcher>();

        // Hosted services stop in reverse order: the dispatcher drains its attempts first, then the writers flush.
        services.AddHostedService(sp => sp.GetRequiredService<DeliverySuccesses>());
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<MessageIntake>());
        services.AddHostedService(sp => sp.GetRequiredService<RecipientLookup>());
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryDispatcher>());

        services.AddExceptionHandler<DatabaseOutage>();
        services.AddHealthChecks().AddCheck<StoppingCheck>("accepting", tags: [HealthEndpoints.ReadyTag]);
        return builder;
    }

    /// <summary>Readiness turns 503 as soon as the relay starts stopping, so load balancers send no new work.</summary>
    private sealed class StoppingCheck(IHostApplicationLifetime lifetime) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
                ? HealthCheckResult.Unhealthy("The relay is stopping and accepts no new messages.")
                : HealthCheckResult.Healthy());
    }
}
