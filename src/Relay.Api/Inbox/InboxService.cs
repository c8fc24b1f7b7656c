using Microsoft.EntityFrameworkCore;
using Relay.Api.Deliveries;
using Relay.Api.Realtime;
using Relay.Data;

namespace Relay.Api.Inbox;

/// <summary>
/// Reading and acknowledging a device's inbox, the same for the hub and for REST: an acknowledgement makes the
/// delivery <c>delivered</c>, ends a live offer's wait, and is published like every other state change.
/// </summary>
public sealed class InboxService(
    IDbContextFactory<RelayDbContext> contexts, AckWaiters waiters, IRealtimeBus bus, DeliveryWriter writer, RelayMetrics metrics, TimeProvider time)
{
    /// <summary>The most messages one page of an inbox, or one acknowledgement, may hold.</summary>
    public const int MaxPage = 500;

    public async Task<(List<InboxMessage> Messages, bool More)> ListAsync(Guid deviceId, int limit, Guid? after, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        return await db.ListInboxAsync(deviceId, time.GetUtcNow(), limit, after, cancellationToken);
    }

    /// <summary>Acknowledges messages for a device; returns how many were newly acknowledged.</summary>
    public async Task<int> AcknowledgeAsync(Guid deviceId, IReadOnlyCollection<Guid> messageIds, CancellationToken cancellationToken)
    {
        List<ChangedDelivery> changed;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            changed = await db.AcknowledgeAsync(deviceId, messageIds, time.GetUtcNow(), cancellationToken);
        }

        waiters.Acknowledged(changed.Select(c => c.Id));
        await bus.PublishAcknowledgedAsync([.. changed.Select(c => c.Id)]);
        foreach (var delivery in changed)
        {
            metrics.Delivery(DeliveryStatus.Delivered, null);
        }

        writer.Publish(changed);
        return changed.Count;
    }
}
