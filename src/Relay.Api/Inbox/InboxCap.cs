using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Relay.Api.Realtime;
using Relay.Data;

namespace Relay.Api.Inbox;

/// <summary>
/// Keeps inboxes within <c>Inbox:MaxPerDevice</c>: remembers the devices this instance gave new inbox rows and, when
/// asked, trims just those, so the work follows the messages accepted rather than the size of every inbox. A device
/// another instance wrote to is trimmed by that instance; one whose trim is lost with a dying instance is trimmed at
/// its next message.
/// </summary>
public sealed class InboxCap(IOptions<InboxOptions> options, RelayMetrics metrics)
{
    private const int DevicesPerStatement = 1_000;

    private readonly ConcurrentDictionary<Guid, byte> _grown = new();

    /// <summary>A delivery to <paramref name="deviceId"/> was committed, so its inbox holds one more message.</summary>
    public void Grew(Guid deviceId) => _grown.TryAdd(deviceId, 0);

    /// <summary>Trims the inboxes that grew since the last trim; those it could not trim stay remembered.</summary>
    public async Task TrimAsync(RelayDbContext db, CancellationToken cancellationToken)
    {
        var devices = new List<Guid>(_grown.Count);
        foreach (var deviceId in _grown.Keys)
        {
            if (_grown.TryRemove(deviceId, out _))
            {
                devices.Add(deviceId);
            }
        }

        for (var at = 0; at < devices.Count; at += DevicesPerStatement)
        {
            var chunk = devices.GetRange(at, Math.Min(DevicesPerStatement, devices.Count - at));
            try
            {
                metrics.InboxDropped(await db.TrimInboxesAsync(chunk, options.Value.MaxPerDevice, cancellationToken));
            }
            catch
            {
                foreach (var deviceId in devices.Skip(at))
                {
                    Grew(deviceId);
                }

                throw;
            }
        }
    }
}
