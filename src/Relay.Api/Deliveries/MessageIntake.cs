using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Relay.Api.Inbox;
using Relay.Data;

namespace Relay.Api.Deliveries;

/// <summary>
/// Commits accepted messages and their deliveries in groups: messages that arrive while a commit is running are
/// written together by the next one, so under load PostgreSQL sees one statement for many messages and durability
/// costs a round trip, not a statement per message.
/// </summary>
public sealed class MessageIntake(IDbContextFactory<RelayDbContext> contexts, InboxCap inboxes, RelayMetrics metrics) : BackgroundService
{
    private const int Workers = 2;
    private const int MaxMessagesPerCommit = 512;

    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>();

    /// <summary>Commits one message; the answer says which of its rows were written.</summary>
    public Task<AcceptedBatch> AcceptAsync(NewMessage message)
    {
        var pending = new Pending(message, new TaskCompletionSource<AcceptedBatch>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_pending.Writer.TryWrite(pending))
        {
            throw new OperationCanceledException("The relay is stopping.");
        }

        return pending.Committed.Task;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Messages already queued are still committed: the workers drain the channel, then end.
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync, CancellationToken.None)));

    private async Task WorkAsync()
    {
        var batch = new List<Pending>();
        while (await _pending.Reader.WaitToReadAsync())
        {
            batch.Clear();
            while (batch.Count < MaxMessagesPerCommit && _pending.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            if (batch.Count > 0)
            {
                await CommitAsync(batch);
            }
        }
    }

    private async Task CommitAsync(List<Pending> batch)
    {
        var messages = batch.ConvertAll(p => p.Message);
        metrics.Batch("intake", messages.Count);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await using var db = await contexts.CreateDbContextAsync();
                var accepted = await db.AcceptAsync(messages);
                foreach (var message in messages)
                {
                    foreach (var delivery in message.Deliveries)
                    {
                        if (accepted.Deliveries.Contains(delivery.Id))
                        {
                            inboxes.Grew(delivery.DeviceId);
                        }
                    }
                }

                foreach (var pending in batch)
                {
                    pending.Committed.TrySetResult(accepted);
                }

                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ForeignKeyViolation && attempt == 1)
            {
                // A device or sender was deleted between the statement's check and its insert: once more, and the
                // check leaves it out.
            }
            catch (Exception e)
            {
                foreach (var pending in batch)
                {
                    pending.Committed.TrySetException(e);
                }

                return;
            }
        }
    }

    private sealed record Pending(NewMessage Message, TaskCompletionSource<AcceptedBatch> Committed);
}
