using Microsoft.EntityFrameworkCore;

namespace Relay.Data;

/// <summary>The two writes that APNs's answers cause, in one place for the relay and for relayctl.</summary>
public static class DeviceUpdates
{
    /// <summary>Records that APNs accepted a push for these devices at <paramref name="now"/>.</summary>
    public static Task<int> RecordSuccessAsync(this DbSet<Device> devices, IReadOnlyCollection<Guid> deviceIds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(devices);
        return devices.Where(d => deviceIds.Contains(d.Id))
            .ExecuteUpdateAsync(set => set.SetProperty(d => d.LastSuccessAt, now), cancellationToken);
    }

    /// <summary>
    /// Marks an active device invalid, keeping why. With <paramref name="invalidSince"/> (a 410's timestamp) only a
    /// registration older than it is invalidated: a device that registered again after the token died is alive.
    /// </summary>
    /// <returns>Whether the device was invalidated now.</returns>
    public static async Task<bool> InvalidateAsync(
        this DbSet<Device> devices, Guid deviceId, string reason, DateTimeOffset? invalidSince, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(devices);
        var device = devices.Where(d => d.Id == deviceId && d.InvalidatedAt == null);
        if (invalidSince is { } since)
        {
            device = device.Where(d => d.RegisteredAt < since);
        }

        return await device.ExecuteUpdateAsync(
            set => set.SetProperty(d => d.InvalidatedAt, now).SetProperty(d => d.InvalidReason, reason), cancellationToken) > 0;
    }
}
