using System.Collections.Concurrent;
using Microsoft.AspNetCore.Routing.Patterns;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Relay.Api;

/// <summary>
/// Serilog: structured console logs, JSON when <c>Logging:Json</c> is true. Nothing the relay logs holds a
/// ciphertext, a whole device token, a token, a signature or a key; request logging records the route
/// template, never the raw path (it can hold a device token) or the query string (it can hold an access_token).
/// </summary>
public static class Logging
{
    public static WebApplicationBuilder AddRelayLogging(this WebApplicationBuilder builder)
    {
        var json = builder.Configuration.GetValue<bool>("Logging:Json");
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.ReadFrom.Configuration(builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", Serilog.Events.LogEventLevel.Warning)
                .MinimumLevel.Override("System.Net.Http", Serilog.Events.LogEventLevel.Warning);
            if (json)
            {
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            }
            else
            {
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}");
            }
        }, preserveStaticLogger: true);
        CacheLoggersByCategory(builder.Services);
        return builder;
    }

    /// <summary>
    /// Serilog's logger factory makes a new logger (and a new cache inside it) on every <c>CreateLogger</c>, where the
    /// framework's own factory keeps one per category. Handlers and contexts made per request ask for theirs every
    /// time (the bearer handler, each EF Core context's loggers), so it allocated a few loggers on every message.
    /// This keeps Serilog's factory and hands out one logger per category, as the framework's does.
    /// </summary>
    private static void CacheLoggersByCategory(IServiceCollection services)
    {
        var serilog = services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        var create = serilog.ImplementationFactory
            ?? throw new InvalidOperationException("Serilog's logger factory is not registered by a factory method.");
        services.Remove(serilog);
        services.AddSingleton<ILoggerFactory>(provider => new CategoryLoggerFactory((ILoggerFactory)create(provider)));
    }

    private sealed class CategoryLoggerFactory(ILoggerFactory inner) : ILoggerFactory
    {
        private readonly ConcurrentDictionary<string, Microsoft.Extensions.Logging.ILogger> _loggers = new(StringComparer.Ordinal);

        public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) =>
            _loggers.GetOrAdd(categoryName, inner.CreateLogger);

        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

        public void Dispose() => inner.Dispose();
    }

    private const string RouteItem = "Relay.RouteTemplate";

    /// <summary>
    /// One line per request, naming the route template (<c>/v1/devices/{deviceId}</c>). Outermost, so that it sees the
    /// status the exception handler answered with; the template is read before an exception handler clears the endpoint.
    /// </summary>
    // One per route, worked out once rather than per request.
    private static readonly ConcurrentDictionary<RoutePattern, string> Templates = new();

    public static WebApplication UseRelayRequestLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging(requests =>
        {
            requests.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            requests.GetMessageTemplateProperties = (http, _, elapsed, status) =>
            [
                new LogEventProperty("RequestMethod", new ScalarValue(http.Request.Method)),
                new LogEventProperty("RequestPath", new ScalarValue(http.Items[RouteItem] as string ?? "(no route)")),
                new LogEventProperty("StatusCode", new ScalarValue(status)),
                new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
            ];
        });
        app.Use((http, next) =>
        {
            if (http.GetEndpoint() is RouteEndpoint endpoint)
            {
                http.Items[RouteItem] = Templates.GetOrAdd(endpoint.RoutePattern, Template);
            }

            return next(http);
        });
        return app;
    }

    /// <summary>The pattern with each parameter as <c>{name}</c>, without its constraints.</summary>
    public static string Template(RoutePattern pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var segments = pattern.PathSegments.Select(segment => string.Concat(segment.Parts.Select(part => part switch
        {
            RoutePatternLiteralPart literal => literal.Content,
            RoutePatternParameterPart parameter => "{" + parameter.Name + "}",
            RoutePatternSeparatorPart separator => separator.Content,
            _ => "",
        })));
        return "/" + string.Join('/', segments);
    }
}
