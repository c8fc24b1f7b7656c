using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Relay.Apns;

/// <summary>
/// Registers <see cref="ApnsClient"/> as a singleton with validated <see cref="ApnsOptions"/>, and the configured
/// <see cref="ApnsApps"/>.
/// </summary>
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

    /// <summary>
    /// Binds <see cref="ApnsApps"/> from <paramref name="configuration"/> (the <c>Apns</c> section, whose <c>Apps</c>
    /// it reads), checked by <see cref="ApnsApps.Validate"/> when the host starts.
    /// </summary>
    public static IServiceCollection AddApnsApps(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ApnsApps>()
            .Bind(configuration)
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ApnsApps>, AppsValidator>());
        return services;
    }

    private sealed class AppsValidator : IValidateOptions<ApnsApps>
    {
        public ValidateOptionsResult Validate(string? name, ApnsApps options) =>
            options.Validate() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;
    }
}
