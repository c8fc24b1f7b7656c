using System.Text.Json;
using System.Text.Json.Serialization;
using Relay.Api;
using Relay.Api.Accounts;
using Relay.Api.Auth;
using Relay.Api.Configuration;
using Relay.Api.Deliveries;
using Relay.Api.Devices;
using Relay.Api.Health;
using Relay.Api.Inbox;
using Relay.Api.Messages;
using Relay.Api.Realtime;
using Relay.Apns;
using Serilog;

// Two-stage logging: this logger reports a start-up that fails before the host's own logger exists.
Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    var builder = WebApplication.CreateBuilder(args);

    // Secrets may come as files, one per key (Auth__SigningKey), e.g. docker compose secrets.
    builder.Configuration.AddKeyPerFile(builder.Configuration["Secrets:Directory"] ?? "/run/secrets", optional: true);
    builder.AddRelayLogging();
    builder.AddRelayOptions();
    builder.AddRelayTelemetry();
    builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024);

    builder.Services.AddProblemDetails();
    builder.Services.AddProblemJsonWriter();
    builder.Services.AddValidation();
    builder.Services.AddJsonRequests();
    // Numbers must be JSON numbers: "60" is not a ttl.
    builder.Services.ConfigureHttpJsonOptions(json =>
    {
        json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
    });
    builder.Services.AddRelayOpenApi();
    builder.Services.AddBearerTokens();
    builder.Services.AddRelayRateLimits(builder.Configuration);
    builder.Services.AddRelayHealth();
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddApnsClient(builder.Configuration.GetSection(ApnsOptions.SectionName));
    builder.Services.AddSingleton<RelayMetrics>();
    builder.AddRelayDelivery();
    builder.AddRelayRealtime();

    var app = builder.Build();
    await app.MigrateIfConfiguredAsync();

    // Request logging wraps the exception handler, so it logs the status the client got (a database outage's 503).
    app.UseRelayRequestLogging();
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseAuthentication();
    app.UseAuthorization();
    app.UseRelayRealtime();
    app.UseRateLimiter();
    app.UseJsonRequests();

    app.MapOpenApi();
    app.MapRelayApiReference();
    app.MapPrometheusScrapingEndpoint();
    app.MapRelayHealth();
    app.MapAccounts();
    app.MapAuth();
    app.MapDevices();
    app.MapDeviceKeys();
    app.MapMessages();
    app.MapInbox();
    app.MapRelayRealtime();

    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is not HostAbortedException)
{
    Log.Fatal(e, "The relay could not start: {Reason}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

/// <summary>The entry point, visible to the integration tests' WebApplicationFactory.</summary>
public partial class Program;
