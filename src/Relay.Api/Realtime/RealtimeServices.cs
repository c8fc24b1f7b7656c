using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Relay.Api.Inbox;
using StackExchange.Redis;

namespace Relay.Api.Realtime;

/// <summary>The realtime channel and the inbox: options, the hub, its gate and the delivery updates.</summary>
public static class RealtimeServices
{
    /// <summary>The largest hub message a client may send; a bigger one closes its connection.</summary>
    public const int MaxMessageBytes = 32 * 1024;

    /// <summary>The StackExchange.Redis configuration string that turns on scale-out; none for a single instance.</summary>
    public const string RedisConfigurationKey = "Redis:Configuration";

    public static WebApplicationBuilder AddRelayRealtime(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RealtimeOptions>()
            .Bind(builder.Configuration.GetSection(RealtimeOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<InboxOptions>()
            .Bind(builder.Configuration.GetSection(InboxOptions.SectionName))
            .ValidateDataAnnotations()
            .ValidateOnStart();

        var signalR = services.AddSignalR(hub =>
            {
                hub.MaximumReceiveMessageSize = MaxMessageBytes;
                hub.EnableDetailedErrors = false;
            })
            .AddJsonProtocol(json =>
            {
                json.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase, allowIntegerValues: false));
                json.PayloadSerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            });

        // With Redis, every instance reaches every connection (the SignalR backplane) and knows where devices are.
        var redis = builder.Configuration[RedisConfigurationKey];
        if (string.IsNullOrWhiteSpace(redis))
        {
            services.AddSingleton<IRealtimeBus, LocalRealtimeBus>();
        }
        else
        {
            var redisOptions = ConfigurationOptions.Parse(redis);
            redisOptions.AbortOnConnectFail = false;
            redisOptions.ChannelPrefix = RedisChannel.Literal("relay");
            signalR.AddStackExchangeRedis(o => o.Configuration = redisOptions.Clone());
            services.AddSingleton<IConnectionMultiplexer>(_ => ConnectionMultiplexer.Connect(redisOptions));
            services.AddSingleton<RedisRealtimeBus>();
            services.AddSingleton<IRealtimeBus>(sp => sp.GetRequiredService<RedisRealtimeBus>());
            services.AddHostedService(sp => sp.GetRequiredService<RedisRealtimeBus>());
        }

        // Browsers' WebSocket clients cannot set headers: the hub also takes the bearer token as ?access_token=.
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, jwt =>
        {
            var previous = jwt.Events.OnMessageReceived;
            jwt.Events.OnMessageReceived = async context =>
            {
                await previous(context);
                if (context.Token is null && context.HttpContext.Request.Path.StartsWithSegments(RealtimeGate.Path)
                    && context.Request.Query["access_token"] is [{ Length: > 0 } token])
                {
                    context.Token = token;
                }
            };
        });

        services.AddSingleton<RealtimeConnections>();
        services.AddSingleton<AckWaiters>();
        services.AddSingleton<LiveDelivery>();
        services.AddSingleton<InboxService>();
        services.AddSingleton<DeliveryUpdates>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryUpdates>());
        return builder;
    }

    /// <summary>The gate in front of the hub: after authentication, before the hub's endpoints.</summary>
    public static IApplicationBuilder UseRelayRealtime(this IApplicationBuilder app) =>
        app.UseWhen(context => context.Request.Path.StartsWithSegments(RealtimeGate.Path), gated => gated.UseMiddleware<RealtimeGate>());

    public static IEndpointRouteBuilder MapRelayRealtime(this IEndpointRouteBuilder routes)
    {
        routes.MapHub<RelayHub>(RealtimeGate.Path);
        return routes;
    }
}
