using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;

namespace Relay.Api.Realtime;

/// <summary>
/// The realtime connections this instance holds: at most one per device (a new one closes the older), counted per
/// account for the cap.
/// </summary>
public sealed class RealtimeConnections
{
    private readonly ConcurrentDictionary<Guid, Connection> _byDevice = new();
    private readonly ConcurrentDictionary<string, Connection> _byId = new(StringComparer.Ordinal);

    /// <summary>Connections open now.</summary>
    public int Count => _byId.Count;

    /// <summary>The connection of <paramref name="deviceId"/>, or <see langword="null"/> when it has none here.</summary>
    public string? ConnectionOf(Guid deviceId) => _byDevice.TryGetValue(deviceId, out var c) ? c.Id : null;

    /// <summary>Whether any device of <paramref name="accountId"/> is connected here (asked for every delivery change).</summary>
    public bool HasConnections(Guid accountId) => !_byId.IsEmpty && Open().Any(c => c.AccountId == accountId);

    /// <summary>How many devices of <paramref name="accountId"/> other than <paramref name="deviceId"/> are connected.</summary>
    public int CountOthers(Guid accountId, Guid deviceId) =>
        Open().Count(c => c.AccountId == accountId && c.DeviceId != deviceId);

    /// <summary>Every connection here: its account, device and id.</summary>
    public IReadOnlyList<(Guid AccountId, Guid DeviceId, string ConnectionId)> All() =>
        [.. Open().Select(c => (c.AccountId, c.DeviceId, c.Id))];

    /// <summary>Adds a connection; an older connection of the same device is closed.</summary>
    public void Add(HubCallerContext context, Guid accountId, Guid deviceId)
    {
        var connection = new Connection(context.ConnectionId, accountId, deviceId, context);
        _byId[connection.Id] = connection;
        Connection? older = null;
        _byDevice.AddOrUpdate(deviceId, connection, (_, existing) =>
        {
            older = existing;
            return connection;
        });
        if (older is not null && older.Id != connection.Id)
        {
            _byId.TryRemove(older.Id, out _);
            older.Context.Abort();
        }
    }

    /// <summary>Forgets a connection that closed.</summary>
    public void Remove(string connectionId)
    {
        if (_byId.TryRemove(connectionId, out var connection))
        {
            _byDevice.TryRemove(new KeyValuePair<Guid, Connection>(connection.DeviceId, connection));
        }
    }

    /// <summary>Closes the connection of each of <paramref name="deviceIds"/> (devices deleted or moved).</summary>
    public void CloseDevices(IEnumerable<Guid> deviceIds)
    {
        foreach (var deviceId in deviceIds)
        {
            if (_byDevice.TryRemove(deviceId, out var connection))
            {
                _byId.TryRemove(connection.Id, out _);
                connection.Context.Abort();
            }
        }
    }

    /// <summary>Closes every connection of <paramref name="accountId"/> (the account was deleted).</summary>
    public void CloseAccount(Guid accountId) =>
        CloseDevices([.. Open().Where(c => c.AccountId == accountId).Select(c => c.DeviceId)]);

    // Enumerating the dictionary itself takes no lock; its Values property would take all of them and copy.
    private IEnumerable<Connection> Open() => _byId.Select(pair => pair.Value);

    private sealed record Connection(string Id, Guid AccountId, Guid DeviceId, HubCallerContext Context);
}
