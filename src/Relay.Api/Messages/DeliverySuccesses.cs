using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Relay.Data;

namespace Relay.Api.Messages;

/// <summary>
/// Records devices' last successful push in batches: one UPDATE for all the devices APNs accepted in the last half
/// second, instead of one per message. A success is a hint for operators (and for pruning silent devices), not a
/// delivery guarantee, so writing it a moment later halves the database work of every push. Pending successes are
/// written when the relay stops.
/// </summary>
public sealed partial class DeliverySuccesses(IServiceScopeFactory scopes, TimeProvider time, ILogger<DeliverySuccesses> logger) : BackgroundService
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(500);
    private const int MaxBatch = 5_000;

    private readonly Channel<Guid> _accepted = Channel.CreateBounded<Guid>(new BoundedChannelOptions(200_000)
    {
        FullMode = BoundedChannelFullMode.DropOldest,
        SingleReader = true,
    });

    /// <summary>APNs accepted a push for this device now.</summary>
    public void Record(Guid deviceId) => _accepted.Writer.TryWrite(deviceId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new HashSet<Guid>();
        try
        {
            while (await _accepted.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(FlushInterval, time, stoppingToken);
                await FlushAsync(batch, CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        _accepted.Writer.TryComplete();
        await FlushAsync(batch, CancellationToken.None);
    }

    private async Task FlushAsync(HashSet<Guid> batch, CancellationToken cancellationToken)
    {
        while (true)
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _accepted.Reader.TryRead(out var deviceId))
            {
                batch.Add(deviceId);
            }

            if (batch.Count == 0)
            {
                return;
            }

            var ids = batch.ToArray();
            var now = time.GetUtcNow();
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<RelayDbContext>();
                await db.Devices.RecordSuccessAsync(ids, now, cancellationToken);
            }
            catch (Exception e) when (e is DbUpdateException or Npgsql.NpgsqlException or InvalidOperationException or TimeoutException)
            {
                LogFlushFailed(logger, ids.Length, e.GetType().Name);
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record the last success of {Devices} devices ({Error})")]
    private static partial void LogFlushFailed(ILogger logger, int devices, string error);
}
