using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace Relay.Api.Tests.Realtime;

/// <summary>A relay with fast retries, a short ack timeout, a small connection cap and a small inbox.</summary>
public sealed class RealtimeRelayFactory : RelayFactory
{
    public static readonly TimeSpan AckTimeout = TimeSpan.FromMilliseconds(700);
    public const int MaxConnectionsPerAccount = 3;
    public const int MaxInbox = 5;

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
    [
        ("Delivery:RetryInitialDelay", "00:00:00.200"),
        ("Delivery:RetryMaxDelay", "00:00:01"),
        // Room for the ack timeout and the push on a loaded machine: the answer of a silent device waits for both.
        ("Delivery:AnswerTimeout", "00:00:05"),
        ("Realtime:AckTimeout", AckTimeout.ToString()),
        ("Realtime:MaxConnectionsPerAccount", MaxConnectionsPerAccount.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Inbox:MaxPerDevice", MaxInbox.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("RateLimits:AccountPerMinute", "1000000"),
    ];

    /// <summary>The hub's address for <paramref name="deviceId"/>.</summary>
    public Uri HubAddress(Guid deviceId, string? accessToken = null) =>
        new(Address, $"/v1/realtime?deviceId={deviceId:D}" + (accessToken is null ? "" : $"&access_token={Uri.EscapeDataString(accessToken)}"));

    /// <summary>
    /// A started connection of <paramref name="account"/>'s device over WebSockets, recording what it receives; with
    /// <paramref name="autoAck"/> it acknowledges every message it gets.
    /// </summary>
    public async Task<DeviceConnection> ConnectAsync(TestAccount account, Guid deviceId, bool autoAck = false, bool skipNegotiation = false)
    {
        var token = account.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        var connection = new HubConnectionBuilder()
            .WithUrl(HubAddress(deviceId), options =>
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
                options.Transports = HttpTransportType.WebSockets;
                options.SkipNegotiation = skipNegotiation;
            })
            .Build();
        return await DeviceConnection.StartAsync(connection, autoAck);
    }

    public Relay.Api.Realtime.RealtimeConnections Connections => Services.GetRequiredService<Relay.Api.Realtime.RealtimeConnections>();
}

/// <summary>A device's hub connection and what arrived on it.</summary>
public sealed class DeviceConnection(HubConnection connection) : IAsyncDisposable
{
    public HubConnection Connection { get; } = connection;

    public ConcurrentQueue<JsonElement> Messages { get; } = new();

    public ConcurrentQueue<JsonElement> Updates { get; } = new();

    public TaskCompletionSource<DateTimeOffset> ClosedAt { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>
    /// Starts <paramref name="connection"/>, recording what it receives; with <paramref name="autoAck"/> it
    /// acknowledges every message it gets.
    /// </summary>
    public static async Task<DeviceConnection> StartAsync(HubConnection connection, bool autoAck)
    {
        var device = new DeviceConnection(connection);
        connection.On<JsonElement>("Message", async message =>
        {
            device.Messages.Enqueue(message);
            if (autoAck)
            {
                await connection.InvokeAsync<int>("Ack", new[] { message.GetProperty("messageId").GetGuid() });
            }
        });
        connection.On<JsonElement>("DeliveryUpdated", update => device.Updates.Enqueue(update));
        connection.Closed += _ =>
        {
            device.ClosedAt.TrySetResult(DateTimeOffset.UtcNow);
            return Task.CompletedTask;
        };
        await connection.StartAsync();
        return device;
    }

    public IReadOnlyList<Guid> MessageIds => [.. Messages.Select(m => m.GetProperty("messageId").GetGuid())];

    public async Task WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (Messages.Count < count && DateTime.UtcNow < until)
        {
            await Task.Delay(25);
        }
    }

    public async Task<JsonElement?> WaitForUpdateAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            foreach (var update in Updates)
            {
                if (match(update))
                {
                    return update;
                }
            }

            await Task.Delay(25);
        }

        return null;
    }

    public Task<int> AckAsync(params Guid[] messageIds) => Connection.InvokeAsync<int>("Ack", messageIds);

    public async ValueTask DisposeAsync() => await Connection.DisposeAsync();
}
