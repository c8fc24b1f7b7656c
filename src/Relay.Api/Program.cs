using System.Text.Json;
using System.Text.Json.Serialization;
using Relay.Api;
using Relay.Api.Accounts;
using Relay.Api.Auth;
using Relay.Api.Configuration;
using Relay.Api.Deliveries;
using Relay.Api.Devices;
using Relay.Api.Health;
using Relay.Api.Messages;
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
    builder.Services.AddValidation();
    // Numbers must be JSON numbers: "60" is not a ttl.
    builder.Services.ConfigureHttpJsonOptions(json =>
    {
        json.SerializerOptions.NumberHandling = JsonNumberHandling.Strict;
        json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
    });
    builder.Services.AddRelayOpenApi();
    builder.Services.AddBearerTokens();
    builder.Services.AddRelayRateLimits(builder.Configuration);
    builder.Services.AddRelayHealth();
    builder.Services.AddSingleton(TimeProvider.System);
    builder.Services.AddApnsClient(builder.Configuration.GetSection(ApnsOptions.SectionName));
    builder.Services.AddSingleton<RelayMetrics>();
    builder.AddRelayDelivery();

    var app = builder.Build();
    await app.MigrateIfConfiguredAsync();

    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseSerilogRequestLogging(requests => requests.Logger = app.Services.GetRequiredService<Serilog.ILogger>());
    app.UseAuthentication();
    app.UseAuthorization();
    app.UseRateLimiter();

    app.MapOpenApi();
    app.MapRelayApiReference();
    app.MapPrometheusScrapingEndpoint();
    app.MapRelayHealth();
    app.MapAccounts();
    app.MapAuth();
    app.MapDevices();
    app.MapMessages();

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
