using System.Net;
using Microsoft.AspNetCore.Hosting;

namespace Relay.Api.Tests;

/// <summary>A relay whose PostgreSQL does not answer (nothing listens on port 1).</summary>
public sealed class UnreachableDatabaseRelayFactory : RelayFactory
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("ConnectionStrings:Relay", "Host=127.0.0.1;Port=1;Database=relay;Username=relay;Timeout=2");
        builder.UseSetting("Database:MigrateOnStartup", "false");
    }
}

public sealed class ReadinessTests(UnreachableDatabaseRelayFactory relay) : IClassFixture<UnreachableDatabaseRelayFactory>
{
    [Fact]
    public async Task ReadinessIs503WhilePostgreSqlIsDownAndLivenessStays200()
    {
        using var client = relay.CreateRelayClient();

        using var ready = await client.GetAsync("/health/ready");
        using var live = await client.GetAsync("/health/live");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var body = await ready.ReadJsonAsync();
        Assert.Equal("Unhealthy", body.GetProperty("checks").GetProperty("postgresql").GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }
}
