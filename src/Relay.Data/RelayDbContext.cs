using Microsoft.EntityFrameworkCore;

namespace Relay.Data;

/// <summary>
/// The relay's database. Configure it with <see cref="RelayDataExtensions.AddRelayData"/> (or
/// <see cref="RelayDataExtensions.UseRelayDatabase"/>): table and column names are snake_case. Every
/// <see cref="DateTimeOffset"/> is a <c>timestamp with time zone</c> and must be written in UTC.
/// </summary>
public sealed class RelayDbContext(DbContextOptions<RelayDbContext> options) : DbContext(options)
{
    /// <summary>Accounts, by identity key.</summary>
    public DbSet<Account> Accounts => Set<Account>();

    /// <summary>Registered device tokens.</summary>
    public DbSet<Device> Devices => Set<Device>();

    /// <summary>Accepted messages, kept while their deliveries need them.</summary>
    public DbSet<Message> Messages => Set<Message>();

    /// <summary>One message to one device each.</summary>
    public DbSet<Delivery> Deliveries => Set<Delivery>();

    /// <summary>Outstanding sign-in challenges.</summary>
    public DbSet<AuthChallenge> AuthChallenges => Set<AuthChallenge>();

    /// <inheritdoc />
    protected override void OnModelCreating(ModelBuilder modelBuilder) =>
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(RelayDbContext).Assembly);
}
