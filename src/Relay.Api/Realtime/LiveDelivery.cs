using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Data;

namespace Relay.Api.Realtime;

/// <summary>
/// Offers a delivery to its device over the realtime channel when the device is connected (to any instance), and
/// waits up to <see cref="RealtimeOptions.AckTimeout"/> for the acknowledgement that makes the APNs push unnecessary.
/// </summary>
public sealed partial class LiveDelivery(
    IRealtimeBus bus,
    AckWaiters waiters,
    IHubContext<RelayHub, IRelayClient> hub,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    ILogger<LiveDelivery> logger)
{
    /// <summary>The SignalR group of a device's connection, reached through the backplane from any instance.</summary>
    public static string DeviceGroup(Guid deviceId) => $"device:{deviceId:N}";

    /// <summary>The SignalR group of every connection of an account.</summary>
    public static string AccountGroup(Guid accountId) => $"account:{accountId:N}";

    /// <summary>
    /// Whether the device acknowledged the delivery in time: false at once when it has no connection (or the
    /// delivery has no ciphertext left to offer).
    /// </summary>
    public async Task<bool> TryDeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        if (delivery.Ciphertext is null || !await bus.IsConnectedAsync(delivery.AccountId, delivery.DeviceId))
        {
            return false;
        }

        var acknowledged = waiters.Wait(delivery.Id);
        try
        {
            await hub.Clients.Group(DeviceGroup(delivery.DeviceId)).Message(
                new RealtimeMessage(delivery.MessageId, delivery.Ciphertext, delivery.CollapseId, delivery.SentAt, delivery.ExpiresAt));
            await acknowledged.WaitAsync(options.Value.AckTimeout, time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            LogNoAck(logger, delivery.Id, delivery.DeviceId, options.Value.AckTimeout);
            return false;
        }
        finally
        {
            waiters.Forget(delivery.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivery {ApnsId}: device {DeviceId} did not acknowledge within {Timeout}; pushing it")]
    private static partial void LogNoAck(ILogger logger, Guid apnsId, Guid deviceId, TimeSpan timeout);
}

/// <summary>The deliveries offered live on this instance, waiting for their acknowledgement (from any instance).</summary>
public sealed class AckWaiters
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _waiting = new();

    public Task Wait(Guid deliveryId) =>
        _waiting.GetOrAdd(deliveryId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Forget(Guid deliveryId) => _waiting.TryRemove(deliveryId, out _);

    /// <summary>Ends the wait of each of <paramref name="deliveryIds"/> waiting here.</summary>
    public void Acknowledged(IEnumerable<Guid> deliveryIds)
    {
        foreach (var id in deliveryIds)
        {
            if (_waiting.TryGetValue(id, out var waiting))
            {
                waiting.TrySetResult();
            }
        }
    }
}
