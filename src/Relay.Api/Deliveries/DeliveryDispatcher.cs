using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Relay.Api.Inbox;
using Relay.Data;

namespace Relay.Api.Deliveries;

/// <summary>
/// The background half of delivery: claims due deliveries under leases (<c>FOR UPDATE SKIP LOCKED</c>, so any number
/// of instances share the work and a dead instance's deliveries are taken over once its leases run out), attempts
/// them, fails the expired ones, keeps the backlog gauges and prunes old messages. When the relay stops it lets the
/// attempts in flight finish, up to <c>Delivery:ShutdownTimeout</c>, and releases the leases of the rest.
/// </summary>
public sealed partial class DeliveryDispatcher(
    IDbContextFactory<RelayDbContext> contexts,
    DeliveryAttempts attempts,
    DeliveryWriter writer,
    RelayInstance instance,
    IOptions<DeliveryOptions> options,
    InboxCap inboxes,
    RelayMetrics metrics,
    TimeProvider time,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    /// <summary>Attempts in flight at most, first attempts included.</summary>
    private const int MaxRunning = 2_000;
    private const int MaxClaim = 500;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ExpireInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan BacklogInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PruneInterval = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan KeepAfterExpiry = TimeSpan.FromHours(24);
    private static readonly TimeSpan IdempotencyWindow = TimeSpan.FromHours(24);

    private DateTimeOffset _lastExpire;
    private DateTimeOffset _lastBacklog;
    private DateTimeOffset _lastPrune;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = PollInterval;
        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                claimed = await ClaimAndStartAsync(stoppingToken);
                await HousekeepAsync(stoppingToken);
                delay = PollInterval;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (DatabaseOutage.IsOutage(e))
            {
                LogPaused(logger, e.GetType().Name, delay);
                delay = delay * 2 < TimeSpan.FromSeconds(5) ? delay * 2 : TimeSpan.FromSeconds(5);
            }

            if (claimed < MaxClaim)
            {
                try
                {
                    await Task.Delay(delay, time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await attempts.DrainAsync(options.Value.ShutdownTimeout);
    }

    private async Task<int> ClaimAndStartAsync(CancellationToken cancellationToken)
    {
        var room = Math.Min(MaxClaim, MaxRunning - attempts.Running);
        if (room <= 0)
        {
            return 0;
        }

        var now = time.GetUtcNow();
        List<ClaimedDelivery> claimed;
        await using (var db = await contexts.CreateDbContextAsync(cancellationToken))
        {
            claimed = await db.ClaimDueAsync(instance.Id, now, now + options.Value.LeaseTimeout, room, cancellationToken);
        }

        var takenOver = 0;
        foreach (var delivery in claimed)
        {
            takenOver += delivery.TakenOver ? 1 : 0;
            _ = attempts.Start(delivery);
        }

        if (takenOver > 0)
        {
            metrics.LeasesTakenOver(takenOver);
            LogTakenOver(logger, takenOver);
        }

        return claimed.Count;
    }

    private async Task HousekeepAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (now - _lastExpire >= ExpireInterval)
        {
            _lastExpire = now;
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var expired = await db.ExpireAsync(now, cancellationToken);
            foreach (var delivery in expired)
            {
                metrics.Delivery(delivery.Status, delivery.Reason);
            }

            if (expired.Count > 0)
            {
                LogExpired(logger, expired.Count);
                writer.Publish(expired);
            }
        }

        if (now - _lastBacklog >= BacklogInterval)
        {
            _lastBacklog = now;
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            var backlog = await db.DueBacklogAsync(now, cancellationToken);
            metrics.Backlog(backlog.Count, backlog.Oldest is { } oldest ? now - oldest : TimeSpan.Zero);
            await inboxes.TrimAsync(db, cancellationToken);
        }

        if (now - _lastPrune >= PruneInterval)
        {
            _lastPrune = now;
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            await db.PruneAsync(now, now - IdempotencyWindow, now - KeepAfterExpiry, cancellationToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery paused: PostgreSQL is unavailable ({Error}); trying again in {Delay}")]
    private static partial void LogPaused(ILogger logger, string error, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over {Deliveries} deliveries whose lease had run out")]
    private static partial void LogTakenOver(ILogger logger, int deliveries);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Deliveries} deliveries expired before APNs accepted them")]
    private static partial void LogExpired(ILogger logger, int deliveries);
}
