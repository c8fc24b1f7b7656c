using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Relay.Apns;

/// <summary>Registers <see cref="ApnsClient"/> as a singleton with validated <see cref="ApnsOptions"/>.</summary>
public static class ApnsServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="ApnsClient"/> configured from <paramref name="configuration"/> (the <c>Apns</c>
    /// section), validated when the host starts.
    /// </summary>
    public static IServiceCollection AddApnsClient(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ApnsOptions>()
            .Bind(configuration)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApnsOptions>, ApnsOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<ApnsMetrics>();
        services.TryAddSingleton<ApnsClient>();
        return services;
    }
}
