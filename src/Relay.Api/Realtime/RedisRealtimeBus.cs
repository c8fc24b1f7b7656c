using System.Globalization;
using StackExchange.Redis;

namespace Relay.Api.Realtime;

/// <summary>
/// The realtime bus across instances, on Redis. Presence is one hash per account (<c>relay:presence:{accountId}</c>,
/// field: device id, value: <c>{connectionId}|{unix seconds}</c>), which each instance refreshes for its own
/// connections every <see cref="RefreshInterval"/>; an entry not refreshed for <see cref="Stale"/> belongs to an
/// instance that died and counts for nothing. Acknowledgements and closes go over pub/sub channels. A Redis that
/// cannot be reached degrades to "not connected": the push goes out, nothing is lost.
/// </summary>
public sealed partial class RedisRealtimeBus : IRealtimeBus, IHostedService, IDisposable
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan Stale = TimeSpan.FromSeconds(45);

    private static readonly RedisChannel AcksChannel = RedisChannel.Literal("relay:acks");
    private static readonly RedisChannel CloseChannel = RedisChannel.Literal("relay:close");

    // Deletes the field only if it still names this connection: a newer connection elsewhere keeps its entry.
    private const string RetractScript = """
        local v = redis.call('HGET', KEYS[1], ARGV[1])
        if v and string.sub(v, 1, string.len(ARGV[2]) + 1) == ARGV[2] .. '|' then return redis.call('HDEL', KEYS[1], ARGV[1]) end
        return 0
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly RealtimeConnections _connections;
    private readonly AckWaiters _waiters;
    private readonly TimeProvider _time;
    private readonly ILogger<RedisRealtimeBus> _logger;
    private ITimer? _refresh;

    public RedisRealtimeBus(IConnectionMultiplexer redis, RealtimeConnections connections, AckWaiters waiters, TimeProvider time, ILogger<RedisRealtimeBus> logger)
    {
        _redis = redis;
        _connections = connections;
        _waiters = waiters;
        _time = time;
        _logger = logger;
    }

    private IDatabase Db => _redis.GetDatabase();

    public async Task<bool> IsConnectedAsync(Guid accountId, Guid deviceId)
    {
        if (_connections.ConnectionOf(deviceId) is not null)
        {
            return true;
        }

        var value = await SafeAsync(() => Db.HashGetAsync(PresenceKey(accountId), deviceId.ToString("N")), RedisValue.Null);
        return IsFresh(value);
    }

    public async Task<bool> HasConnectionsAsync(Guid accountId)
    {
        if (_connections.HasConnections(accountId))
        {
            return true;
        }

        var entries = await SafeAsync(() => Db.HashValuesAsync(PresenceKey(accountId)), []);
        return entries.Any(IsFresh);
    }

    public async Task<int> CountOthersAsync(Guid accountId, Guid deviceId)
    {
        var entries = await SafeAsync(() => Db.HashGetAllAsync(PresenceKey(accountId)), []);
        var device = deviceId.ToString("N");
        var remote = entries.Count(e => e.Name != device && IsFresh(e.Value));
        return Math.Max(remote, _connections.CountOthers(accountId, deviceId));
    }

    public async Task AnnounceAsync(Guid accountId, Guid deviceId, string connectionId)
    {
        var key = PresenceKey(accountId);
        var previous = await SafeAsync(async () =>
        {
            var transaction = Db.CreateTransaction();
            var old = transaction.HashGetAsync(key, deviceId.ToString("N"));
            _ = transaction.HashSetAsync(key, deviceId.ToString("N"), Entry(connectionId));
            _ = transaction.KeyExpireAsync(key, Stale * 2);
            await transaction.ExecuteAsync();
            return await old;
        }, RedisValue.Null);
        if (IsFresh(previous) && ConnectionIdOf(previous) is { } older && older != connectionId)
        {
            await SafeAsync(() => _redis.GetSubscriber().PublishAsync(CloseChannel, $"{deviceId:N}|{connectionId}"), 0L);
        }
    }

    public Task RetractAsync(Guid accountId, Guid deviceId, string connectionId) =>
        SafeAsync(() => Db.ScriptEvaluateAsync(RetractScript, [PresenceKey(accountId)], [deviceId.ToString("N"), connectionId]), RedisResult.Create(0));

    public Task PublishAcknowledgedAsync(IReadOnlyCollection<Guid> deliveryIds) =>
        deliveryIds.Count == 0 ? Task.CompletedTask
            : SafeAsync(() => _redis.GetSubscriber().PublishAsync(AcksChannel, string.Join(',', deliveryIds.Select(id => id.ToString("N")))), 0L);

    public async Task CloseDevicesAsync(IReadOnlyCollection<Guid> deviceIds)
    {
        _connections.CloseDevices(deviceIds);
        foreach (var deviceId in deviceIds)
        {
            await SafeAsync(() => _redis.GetSubscriber().PublishAsync(CloseChannel, $"{deviceId:N}|"), 0L);
        }
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var subscriber = _redis.GetSubscriber();
        await SafeAsync(async () =>
        {
            await subscriber.SubscribeAsync(AcksChannel, (_, message) =>
                _waiters.Acknowledged(((string?)message ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Guid.Parse)));
            await subscriber.SubscribeAsync(CloseChannel, (_, message) => OnClose((string?)message ?? ""));
            return 0;
        }, 0);
        _refresh = _time.CreateTimer(_ => _ = RefreshAsync(), null, RefreshInterval, RefreshInterval);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_refresh is not null)
        {
            await _refresh.DisposeAsync();
        }
    }

    public void Dispose() => _refresh?.Dispose();

    private void OnClose(string message)
    {
        // "{deviceId}|{except connectionId}": close the device's connection here unless it is the one named.
        var parts = message.Split('|');
        if (parts.Length == 2 && Guid.TryParseExact(parts[0], "N", out var deviceId)
            && _connections.ConnectionOf(deviceId) is { } local && local != parts[1])
        {
            _connections.CloseDevices([deviceId]);
        }
    }

    private async Task RefreshAsync()
    {
        foreach (var (accountId, deviceId, connectionId) in _connections.All())
        {
            var key = PresenceKey(accountId);
            await SafeAsync(async () =>
            {
                await Db.HashSetAsync(key, deviceId.ToString("N"), Entry(connectionId));
                return await Db.KeyExpireAsync(key, Stale * 2);
            }, false);
        }
    }

    private RedisValue Entry(string connectionId) =>
        $"{connectionId}|{_time.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";

    private bool IsFresh(RedisValue value) =>
        !value.IsNullOrEmpty && ((string)value!).Split('|') is [_, var seconds]
        && long.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var at)
        && _time.GetUtcNow().ToUnixTimeSeconds() - at <= (long)Stale.TotalSeconds;

    private static string? ConnectionIdOf(RedisValue value) => value.IsNullOrEmpty ? null : ((string)value!).Split('|')[0];

    private static RedisKey PresenceKey(Guid accountId) => $"relay:presence:{accountId:N}";

    private async Task<T> SafeAsync<T>(Func<Task<T>> work, T fallback)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (e is RedisException or TimeoutException or ObjectDisposedException)
        {
            LogUnavailable(_logger, e);
            return fallback;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis unavailable: realtime routing across instances falls back to pushes")]
    private static partial void LogUnavailable(ILogger logger, Exception error);
}
