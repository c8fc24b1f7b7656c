using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Relay.Api.Tests;

/// <summary>
/// The relay's logger factory keeps one logger per category (Serilog's own makes a new one on every call, which the
/// handlers and contexts built per request paid for on every message), and what those loggers log still reaches
/// Serilog with its category as the source context.
/// </summary>
public sealed class LoggerFactoryTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public void OneLoggerPerCategoryWhoseEventsReachSerilogUnderThatCategory()
    {
        var factory = relay.Services.GetRequiredService<ILoggerFactory>();
        var category = "Relay.Tests.Category" + Guid.NewGuid().ToString("N");

        var first = factory.CreateLogger(category);
        Assert.Same(first, factory.CreateLogger(category));
        Assert.NotSame(first, factory.CreateLogger(category + ".Other"));
        Assert.Same(relay.Services.GetRequiredService<ILogger<LoggerFactoryTests>>(), relay.Services.GetRequiredService<ILogger<LoggerFactoryTests>>());

        var marker = Guid.NewGuid().ToString("N");
#pragma warning disable CA1848, CA2254 // a one-off line whose text is the point of the test
        first.LogWarning("marker " + marker);
#pragma warning restore CA1848, CA2254
        var logged = Assert.Single(relay.Logs.Events, e => e.RenderMessage().Contains(marker, StringComparison.Ordinal));
        Assert.Equal($"\"{category}\"", logged.Properties["SourceContext"].ToString());
    }
}
