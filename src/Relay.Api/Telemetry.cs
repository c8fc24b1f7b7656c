using System.Diagnostics;
using Npgsql;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Relay.Apns;

namespace Relay.Api;

/// <summary>
/// OpenTelemetry: metrics (ASP.NET Core, HttpClient, Npgsql and the relay's own meters) scraped by Prometheus at
/// <c>/metrics</c>; traces exported over OTLP when <c>Telemetry:OtlpEndpoint</c> is set.
/// </summary>
public static class Telemetry
{
    public static WebApplicationBuilder AddRelayTelemetry(this WebApplicationBuilder builder)
    {
        var otlpEndpoint = builder.Configuration["Telemetry:OtlpEndpoint"];
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("relay"))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddNpgsqlInstrumentation()
                .AddMeter(ApnsMetrics.MeterName, RelayMetrics.MeterName)
                .AddPrometheusExporter());
        if (!string.IsNullOrWhiteSpace(otlpEndpoint))
        {
            telemetry.WithTracing(tracing => tracing
                .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !context.Request.Path.StartsWithSegments("/metrics"))
                .AddHttpClientInstrumentation(http => http.EnrichWithHttpRequestMessage = RedactDeviceToken)
                .AddNpgsql()
                .AddOtlpExporter(otlp => otlp.Endpoint = new Uri(otlpEndpoint)));
        }

        return builder;
    }

    /// <summary>An APNs request's URL holds the whole device token: traces keep only its first 8 hex digits.</summary>
    private static void RedactDeviceToken(Activity activity, HttpRequestMessage request)
    {
        var path = request.RequestUri?.AbsolutePath;
        if (path is not null && path.StartsWith(ApnsHeaders.DevicePath, StringComparison.Ordinal))
        {
            var token = path.AsSpan(ApnsHeaders.DevicePath.Length);
            var redacted = $"{request.RequestUri!.GetLeftPart(UriPartial.Authority)}{ApnsHeaders.DevicePath}{token[..Math.Min(8, token.Length)]}…";
            activity.SetTag("url.full", redacted);
            activity.DisplayName = "POST /3/device/{token}";
        }
    }
}
