using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Relay.Data;

/// <summary>
/// Used only by the EF Core tools (<c>dotnet ef migrations add</c>, <c>dotnet ef database update</c>); the relay
/// itself configures the context with <see cref="RelayDataExtensions.AddRelayData"/>.
/// </summary>
internal sealed class RelayDbContextFactory : IDesignTimeDbContextFactory<RelayDbContext>
{
    // Matches scripts/pg.sh's throwaway cluster; never a real database.
    private const string LocalDefault = "Host=127.0.0.1;Port=5433;Database=relay;Username=relay";

    public RelayDbContext CreateDbContext(string[] args)
    {
        var connectionString = Environment.GetEnvironmentVariable("ConnectionStrings__Relay");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            connectionString = LocalDefault;
        }

        var builder = new DbContextOptionsBuilder<RelayDbContext>();
        builder.UseRelayDatabase(connectionString);
        return new RelayDbContext(builder.Options);
    }
}
