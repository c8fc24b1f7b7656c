using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Relay.Data;

namespace Relay.Api.Realtime;

/// <summary>
/// Offers a delivery to its device over the realtime channel when the device is connected here, and waits up to
/// <see cref="RealtimeOptions.AckTimeout"/> for the acknowledgement that makes the APNs push unnecessary.
/// </summary>
public sealed partial class LiveDelivery(
    RealtimeConnections connections,
    IHubContext<RelayHub, IRelayClient> hub,
    IOptions<RealtimeOptions> options,
    TimeProvider time,
    ILogger<LiveDelivery> logger)
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _waiting = new();

    /// <summary>
    /// Whether the device acknowledged the delivery in time: false at once when it has no connection here (or the
    /// delivery has no ciphertext left to offer).
    /// </summary>
    public async Task<bool> TryDeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        if (delivery.Ciphertext is null || connections.ConnectionOf(delivery.DeviceId) is not { } connectionId)
        {
            return false;
        }

        var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting[delivery.Id] = acknowledged;
        try
        {
            await hub.Clients.Client(connectionId).Message(
                new RealtimeMessage(delivery.MessageId, delivery.Ciphertext, delivery.CollapseId, delivery.SentAt, delivery.ExpiresAt));
            await acknowledged.Task.WaitAsync(options.Value.AckTimeout, time, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            LogNoAck(logger, delivery.Id, delivery.DeviceId, options.Value.AckTimeout);
            return false;
        }
        finally
        {
            _waiting.TryRemove(delivery.Id, out _);
        }
    }

    /// <summary>Ends the wait of every delivery among <paramref name="changed"/> that was just acknowledged.</summary>
    public void Acknowledged(IEnumerable<ChangedDelivery> changed)
    {
        foreach (var delivery in changed)
        {
            if (_waiting.TryGetValue(delivery.Id, out var waiting))
            {
                waiting.TrySetResult();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivery {ApnsId}: device {DeviceId} did not acknowledge within {Timeout}; pushing it")]
    private static partial void LogNoAck(ILogger logger, Guid apnsId, Guid deviceId, TimeSpan timeout);
}
