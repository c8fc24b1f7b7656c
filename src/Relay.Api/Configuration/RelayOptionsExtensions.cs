using System.Buffers.Text;
using Microsoft.Extensions.Options;
using Relay.Apns;
using Relay.Data;

namespace Relay.Api.Configuration;

/// <summary>
/// Binds and validates the relay's settings when the host starts; a missing or invalid one stops it with a message
/// that names the setting as <c>Section:Key</c>.
/// </summary>
public static class RelayOptionsExtensions
{
    public static WebApplicationBuilder AddRelayOptions(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<DatabaseOptions>()
            .Configure<IConfiguration>((options, configuration) =>
            {
                options.ConnectionString = configuration.GetConnectionString("Relay");
                options.MigrateOnStartup = configuration.GetValue<bool>("Database:MigrateOnStartup");
            })
            .Validate(o => !string.IsNullOrWhiteSpace(o.ConnectionString), "ConnectionStrings:Relay is required: the PostgreSQL connection string.")
            .ValidateOnStart();

        services.AddApnsApps(builder.Configuration.GetSection(ApnsOptions.SectionName));

        var isDevelopment = builder.Environment.IsDevelopment();
        services.AddOptions<AuthOptions>()
            .Bind(builder.Configuration.GetSection(AuthOptions.SectionName))
            .PostConfigure(o =>
            {
                // Development may run without a configured key; tokens then last as long as the process.
                if (isDevelopment && string.IsNullOrWhiteSpace(o.SigningKey))
                {
                    o.SigningKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
                }
            })
            .Validate(o => !string.IsNullOrWhiteSpace(o.SigningKey), "Auth:SigningKey is required: base64 of at least 32 random bytes.")
            .Validate(o => string.IsNullOrWhiteSpace(o.SigningKey) || (Base64.IsValid(o.SigningKey, out var length) && length >= 32),
                "Auth:SigningKey must be base64 of at least 32 bytes.")
            .ValidateDataAnnotations()
            .ValidateOnStart();

        services.AddRelayData(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value.ConnectionString!);
        return builder;
    }

    /// <summary>Applies pending migrations when <c>Database:MigrateOnStartup</c> is true.</summary>
    public static async Task MigrateIfConfiguredAsync(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<DatabaseOptions>>().Value.MigrateOnStartup)
        {
            await app.Services.MigrateAsync(app.Lifetime.ApplicationStopping);
        }
    }
}
