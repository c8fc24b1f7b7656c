using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Relay.Data;
using Relay.Apns;

namespace Relay.Api.Messages;

/// <summary>
/// Finds the active devices of a message's recipients. Lookups that arrive while others are running are answered
/// together by one query, so under load PostgreSQL sees one statement for many messages instead of one each; each
/// query still starts after the messages it answers arrived, so none reads older data than a lookup of its own would.
/// </summary>
public sealed class RecipientLookup(IServiceScopeFactory scopes, RelayMetrics metrics) : BackgroundService
{
    // A few queries in flight keep latency low when idle; the batches grow on their own when busy.
    private const int Workers = 4;
    private const int MaxAccountsPerQuery = 1_024;

    private readonly Channel<Lookup> _lookups = Channel.CreateUnbounded<Lookup>();

    /// <summary>Every recipient that exists, with its active devices (none for an account without any) and its delivery key's hash.</summary>
    public Task<Dictionary<Guid, Recipient>> FindAsync(IReadOnlyCollection<Guid> accountIds, CancellationToken cancellationToken)
    {
        var lookup = new Lookup(accountIds, new TaskCompletionSource<Dictionary<Guid, Recipient>>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_lookups.Writer.TryWrite(lookup))
        {
            throw new OperationCanceledException("The relay is stopping.");
        }

        return lookup.Answer.Task.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="accountId"/> exists now: the bearer check of every authenticated request but a send
    /// (which looks its sender up with its recipients), answered in the same batches as the recipients, so it costs
    /// PostgreSQL a share of a statement rather than one of its own.
    /// </summary>
    public async Task<bool> ExistsAsync(Guid accountId, CancellationToken cancellationToken) =>
        (await FindAsync([accountId], cancellationToken)).ContainsKey(accountId);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Lookups already queued are still answered: the workers drain the channel, then end.
        _lookups.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkAsync, CancellationToken.None)));

    private async Task WorkAsync()
    {
        var batch = new List<Lookup>();
        while (await _lookups.Reader.WaitToReadAsync())
        {
            batch.Clear();
            var accounts = 0;
            while (accounts < MaxAccountsPerQuery && _lookups.Reader.TryRead(out var lookup))
            {
                batch.Add(lookup);
                accounts += lookup.AccountIds.Count;
            }

            if (batch.Count > 0)
            {
                await AnswerAsync(batch);
            }
        }
    }

    private async Task AnswerAsync(List<Lookup> batch)
    {
        try
        {
            var ids = batch.SelectMany(l => l.AccountIds).Distinct().ToArray();
            metrics.Batch("lookup", ids.Length);
            var found = new Dictionary<Guid, Recipient>(ids.Length);
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<RelayDbContext>();
                await foreach (var row in Query(db, ids))
                {
                    if (!found.TryGetValue(row.AccountId, out var recipient))
                    {
                        found[row.AccountId] = recipient = new Recipient([], row.DeliveryKeyHash, row.DeliveryKeyRequired);
                    }

                    if (row.DeviceId is { } deviceId)
                    {
                        recipient.Devices.Add(new RecipientDevice(deviceId, row.AccountId, row.Token!, row.Topic!, row.Environment!.Value));
                    }
                }
            }

            foreach (var lookup in batch)
            {
                var answer = new Dictionary<Guid, Recipient>(lookup.AccountIds.Count);
                foreach (var accountId in lookup.AccountIds)
                {
                    if (found.TryGetValue(accountId, out var recipient))
                    {
                        answer[accountId] = recipient;
                    }
                }

                lookup.Answer.TrySetResult(answer);
            }
        }
        catch (Exception e)
        {
            foreach (var lookup in batch)
            {
                lookup.Answer.TrySetException(e);
            }
        }
    }

    // The recipients LEFT JOIN their active devices (the partial index), flat, so a recipient without devices still
    // shows it exists. Compiled once rather than translated per query.
    private static readonly Func<RelayDbContext, Guid[], IAsyncEnumerable<RecipientRow>> Query = EF.CompileAsyncQuery(
        (RelayDbContext db, Guid[] ids) =>
            from a in db.Accounts.AsNoTracking()
            where ids.Contains(a.Id)
            from d in db.Devices.Where(d => d.AccountId == a.Id && d.InvalidatedAt == null).DefaultIfEmpty()
            select new RecipientRow(a.Id, a.DeliveryKeyHash, a.DeliveryKeyRequired, (Guid?)d!.Id, d.Token, d.Topic, (ApnsEnvironment?)d.Environment));

    private sealed record Lookup(IReadOnlyCollection<Guid> AccountIds, TaskCompletionSource<Dictionary<Guid, Recipient>> Answer);

    private sealed record RecipientRow(Guid AccountId, byte[]? DeliveryKeyHash, bool DeliveryKeyRequired, Guid? DeviceId, string? Token, string? Topic, ApnsEnvironment? Environment);
}

/// <summary>A recipient that exists: its active devices and what a sender must present to reach them.</summary>
/// <param name="Devices">The active devices, in no particular order.</param>
/// <param name="DeliveryKeyHash">SHA-256 of the account's delivery key, or null without one.</param>
/// <param name="DeliveryKeyRequired">Whether authenticated senders must present the key.</param>
public sealed record Recipient(List<RecipientDevice> Devices, byte[]? DeliveryKeyHash, bool DeliveryKeyRequired);

/// <summary>An active device of a recipient, as the lookup found it.</summary>
public sealed record RecipientDevice(Guid DeviceId, Guid AccountId, string Token, string Topic, ApnsEnvironment Environment);
