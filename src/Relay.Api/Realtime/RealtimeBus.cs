namespace Relay.Api.Realtime;

/// <summary>
/// What relay instances tell each other about realtime connections: where devices are connected, acknowledgements
/// that end another instance's wait, and connections to close. <see cref="LocalRealtimeBus"/> serves a single
/// instance; <see cref="RedisRealtimeBus"/> spans every instance sharing a Redis (<c>Redis:Configuration</c>).
/// </summary>
public interface IRealtimeBus
{
    /// <summary>Whether <paramref name="deviceId"/> of <paramref name="accountId"/> has a live connection on any instance.</summary>
    Task<bool> IsConnectedAsync(Guid accountId, Guid deviceId);

    /// <summary>Whether any device of <paramref name="accountId"/> has a live connection on any instance.</summary>
    Task<bool> HasConnectionsAsync(Guid accountId);

    /// <summary>How many devices of <paramref name="accountId"/> other than <paramref name="deviceId"/> are connected.</summary>
    Task<int> CountOthersAsync(Guid accountId, Guid deviceId);

    /// <summary>A connection opened here; any older connection of the device, wherever it is, is closed.</summary>
    Task AnnounceAsync(Guid accountId, Guid deviceId, string connectionId);

    /// <summary>A connection here closed.</summary>
    Task RetractAsync(Guid accountId, Guid deviceId, string connectionId);

    /// <summary>Tells every instance that these deliveries were acknowledged.</summary>
    Task PublishAcknowledgedAsync(IReadOnlyCollection<Guid> deliveryIds);

    /// <summary>Closes the connections of these devices on every instance.</summary>
    Task CloseDevicesAsync(IReadOnlyCollection<Guid> deviceIds);
}

/// <summary>One instance alone: its own connections are all there are.</summary>
public sealed class LocalRealtimeBus(RealtimeConnections connections) : IRealtimeBus
{
    public Task<bool> IsConnectedAsync(Guid accountId, Guid deviceId) => Task.FromResult(connections.ConnectionOf(deviceId) is not null);

    public Task<bool> HasConnectionsAsync(Guid accountId) => Task.FromResult(connections.HasConnections(accountId));

    public Task<int> CountOthersAsync(Guid accountId, Guid deviceId) => Task.FromResult(connections.CountOthers(accountId, deviceId));

    public Task AnnounceAsync(Guid accountId, Guid deviceId, string connectionId) => Task.CompletedTask;

    public Task RetractAsync(Guid accountId, Guid deviceId, string connectionId) => Task.CompletedTask;

    public Task PublishAcknowledgedAsync(IReadOnlyCollection<Guid> deliveryIds) => Task.CompletedTask;

    public Task CloseDevicesAsync(IReadOnlyCollection<Guid> deviceIds)
    {
        connections.CloseDevices(deviceIds);
        return Task.CompletedTask;
    }
}
