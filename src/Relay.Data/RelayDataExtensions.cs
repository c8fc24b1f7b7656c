using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Data;

/// <summary>Registers the relay's database and applies its migrations.</summary>
public static class RelayDataExtensions
{
    /// <summary>
    /// Registers a pooled <see cref="RelayDbContext"/> on PostgreSQL, both scoped (for request handlers) and through
    /// <see cref="IDbContextFactory{TContext}"/> (for background work, which makes its own short-lived contexts); the
    /// connection string is read from the services when the first context is made, so it can come from validated
    /// options.
    /// </summary>
    public static IServiceCollection AddRelayData(this IServiceCollection services, Func<IServiceProvider, string> connectionString)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(connectionString);

        services.AddPooledDbContextFactory<RelayDbContext>((provider, options) => options.UseRelayDatabase(connectionString(provider)));
        return services.AddScoped(provider => provider.GetRequiredService<IDbContextFactory<RelayDbContext>>().CreateDbContext());
    }

    /// <summary>
    /// Points <paramref name="builder"/> at PostgreSQL with the relay's conventions (snake_case names). For code
    /// that builds a <see cref="RelayDbContext"/> itself, such as a test creating its own database.
    /// </summary>
    public static DbContextOptionsBuilder UseRelayDatabase(this DbContextOptionsBuilder builder, string connectionString)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);

        // No EnableRetryOnFailure: the API uses explicit transactions, which a retrying strategy refuses.
        // A list in a query (ids.Contains(x.Id)) goes as one array parameter (x.id = ANY(@ids)): one SQL text for
        // every length, so the statement stays prepared and cached. EF's default, a parameter per element, makes a new
        // text per length and compiled a new delegate on every run of the recipient lookup, whose finalisers then
        // took a fifth of the relay's CPU under load.
        return builder.UseNpgsql(WithRelayDefaults(connectionString), npgsql => npgsql.UseParameterizedCollectionMode(ParameterTranslationMode.Parameter))
            .UseSnakeCaseNamingConvention();
    }

    /// <summary>Applies pending migrations (creating the database if it does not exist).</summary>
    public static async Task MigrateAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);

        // EF probes the migrations history table and handles its absence on a fresh database, yet logs the probe's
        // failure as an error: the migrating context logs failed commands at Debug. A migration that fails still throws.
        var options = new DbContextOptionsBuilder<RelayDbContext>(services.GetRequiredService<DbContextOptions<RelayDbContext>>())
            .ConfigureWarnings(warnings => warnings.Log((RelationalEventId.CommandError, LogLevel.Debug)))
            .Options;
        await using var db = new RelayDbContext(options);
        await db.Database.MigrateAsync(cancellationToken);
    }

    /// <summary>
    /// The relay runs the same few statements all day: unless the connection string says otherwise, let Npgsql
    /// prepare them (PostgreSQL then skips parsing and planning) and skip the session reset when a pooled connection is
    /// returned (the relay changes no session state).
    /// </summary>
    public static string WithRelayDefaults(string connectionString)
    {
        // NpgsqlConnectionStringBuilder.ContainsKey is true for every keyword it knows: ask the plain builder, which
        // holds only what the string says.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!given.ContainsKey("Max Auto Prepare") && !given.ContainsKey("MaxAutoPrepare"))
        {
            builder.MaxAutoPrepare = 32;
        }

        if (!given.ContainsKey("No Reset On Close") && !given.ContainsKey("NoResetOnClose"))
        {
            builder.NoResetOnClose = true;
        }

        return builder.ConnectionString;
    }
}
