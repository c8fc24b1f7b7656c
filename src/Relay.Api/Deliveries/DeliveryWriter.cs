using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Relay.Data;

namespace Relay.Api.Deliveries;

/// <summary>
/// Writes attempts' results in batches: every result that arrives while a write is running goes into the next one,
/// one statement for all. A result is never dropped: while PostgreSQL is unreachable the writer waits and tries again
/// (if the process dies meanwhile, the leases run out and the deliveries are attempted again, with the same apns-id).
/// Pending results are written when the relay stops.
/// </summary>
public sealed partial class DeliveryWriter(
    IDbContextFactory<RelayDbContext> contexts, RelayInstance instance, RelayMetrics metrics, TimeProvider time, ILogger<DeliveryWriter> logger) : BackgroundService
{
    private const int MaxBatch = 2_000;
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Deliveries whose state a write changed, after it committed.</summary>
    public event Action<IReadOnlyList<ChangedDelivery>>? Changed;

    /// <summary>Queues a result; the task ends when it is written (true) or was moot, the delivery already final (false).</summary>
    public Task<bool> WriteAsync(DeliveryChange change)
    {
        var pending = new Pending(change, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(pending))
        {
            // Stopping and already drained: the lease runs out and another attempt settles the delivery.
            pending.Written.TrySetResult(false);
        }

        return pending.Written.Task;
    }

    /// <summary>Publishes changes another component wrote (the expiry sweep) to the same listeners.</summary>
    public void Publish(IReadOnlyList<ChangedDelivery> changed)
    {
        if (changed.Count > 0)
        {
            Changed?.Invoke(changed);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => Task.Run(WorkAsync, CancellationToken.None);

    private async Task WorkAsync()
    {
        var batch = new List<Pending>();
        var delay = TimeSpan.FromMilliseconds(100);
        while (await _pending.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            metrics.Batch("write", batch.Count);
            try
            {
                await using var db = await contexts.CreateDbContextAsync();
                var changed = await db.ApplyAsync(instance.Id, batch.ConvertAll(p => p.Change), time.GetUtcNow());
                var applied = changed.Select(c => c.Id).ToHashSet();
                foreach (var pending in batch)
                {
                    pending.Written.TrySetResult(applied.Contains(pending.Change.Id));
                }

                batch.Clear();
                delay = TimeSpan.FromMilliseconds(100);
                Publish(changed);
            }
            catch (Exception e) when (DatabaseOutage.IsOutage(e))
            {
                LogWriteFailed(logger, batch.Count, e.GetType().Name, delay);
                await Task.Delay(delay, time);
                delay = delay * 2 < MaxRetryDelay ? delay * 2 : MaxRetryDelay;
            }
        }
    }

    private sealed record Pending(DeliveryChange Change, TaskCompletionSource<bool> Written);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Deliveries} delivery results ({Error}); trying again in {Delay}")]
    private static partial void LogWriteFailed(ILogger logger, int deliveries, string error, TimeSpan delay);
}
