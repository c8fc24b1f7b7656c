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
        return builder;
    }

    private const string RouteItem = "Relay.RouteTemplate";

    /// <summary>
    /// One line per request, naming the route template (<c>/v1/devices/{deviceId}</c>). Outermost, so that it sees the
    /// status the exception handler answered with; the template is read before an exception handler clears the endpoint.
    /// </summary>
    // One per route, worked out once rather than per request.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<RoutePattern, string> Templates = new();

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
