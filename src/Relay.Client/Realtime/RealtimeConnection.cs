using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// One device's realtime channel: a SignalR connection to <c>/v1/realtime?deviceId=…</c> with the client's bearer
/// token (signing in again when it is due), automatic reconnection, the device's messages and the sender's delivery
/// updates as events, and acknowledgements.
/// </summary>
/// <remarks>
/// Handlers run one at a time, in the order the relay sent. After a drop the connection comes back by itself
/// (<see cref="RelayClientOptions.RealtimeReconnectDelays"/>) and the relay replays the inbox, so nothing is missed;
/// it gives up only when the relay refuses the device (deleted, moved or invalidated), and then raises
/// <see cref="Closed"/>.
/// </remarks>
public sealed class RealtimeConnection : IAsyncDisposable
{
    private readonly HubConnection _hub;
    private readonly RealtimeConnectionOptions _options;
    private readonly RecentIds _seen;
    private readonly Action _forgetToken;

    internal RealtimeConnection(RelayHttp http, Guid deviceId, RealtimeConnectionOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DuplicateWindow, 1, nameof(options));
        DeviceId = deviceId;
        _options = options;
        _seen = new RecentIds(options.DuplicateWindow);
        _forgetToken = () => http.ForgetToken();
        var delays = http.Options.RealtimeReconnectDelays ?? RelayClientOptions.DefaultReconnectDelays;
        _hub = new HubConnectionBuilder()
            .WithUrl(new Uri(http.BaseAddress, $"v1/realtime?deviceId={deviceId:D}"), connection =>
            {
                connection.AccessTokenProvider = async () => await http.GetAccessTokenAsync(CancellationToken.None);
                if (http.Options.HttpMessageHandler is { } handler)
                {
                    connection.HttpMessageHandlerFactory = _ => new SharedHandler(handler);
                }

                http.Options.ConfigureRealtime?.Invoke(connection);
            })
            .WithAutomaticReconnect(new ReconnectPolicy(delays, _forgetToken))
            .AddJsonProtocol(json => json.PayloadSerializerOptions = RelayJson.Create())
            .Build();
        _hub.On<ReceivedMessage>(RealtimeMethods.Message, OnMessageAsync);
        _hub.On<DeliveryUpdate>(RealtimeMethods.DeliveryUpdated, update => RaiseAsync(DeliveryUpdated, update));
        _hub.Reconnecting += error => RaiseAsync(Reconnecting, error);
        _hub.Reconnected += _ => RaiseAsync(Reconnected, DeviceId);
        _hub.Closed += error => RaiseAsync(Closed, error);
    }

    /// <summary>A message for this device: from its inbox right after (re)connecting, oldest first, then live.</summary>
    public event Func<ReceivedMessage, Task>? MessageReceived;

    /// <summary>A delivery of a message this account sent changed state (to every connected device of the sender).</summary>
    public event Func<DeliveryUpdate, Task>? DeliveryUpdated;

    /// <summary>The connection dropped and is being re-established; the argument is why, when known.</summary>
    public event Func<Exception?, Task>? Reconnecting;

    /// <summary>The connection is back (the argument is the device id); the inbox replay follows.</summary>
    public event Func<Guid, Task>? Reconnected;

    /// <summary>The connection closed for good: stopped, or the relay refused it; the argument is why, when known.</summary>
    public event Func<Exception?, Task>? Closed;

    /// <summary>The device this connection is for.</summary>
    public Guid DeviceId { get; }

    /// <summary>Whether the connection is connected, connecting, reconnecting or closed.</summary>
    public HubConnectionState State => _hub.State;

    /// <summary>Connects (signing in first when needed); the inbox replay begins at once.</summary>
    /// <exception cref="HttpRequestException">
    /// The relay refused the connection: <c>401</c> (no valid token), <c>403</c> (not the caller's active device),
    /// <c>429</c> (too many connections for the account).
    /// </exception>
    /// <exception cref="RelayApiException">Signing in was refused.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _hub.StartAsync(cancellationToken);
        }
        catch (HttpRequestException e) when (e.StatusCode == HttpStatusCode.Unauthorized)
        {
            // The relay no longer takes the token (expired early, or its signing key changed): sign in again, once.
            _forgetToken();
            await _hub.StartAsync(cancellationToken);
        }
    }

    /// <summary>Closes the connection; it does not come back by itself.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _hub.StopAsync(cancellationToken);

    /// <summary>
    /// Acknowledges messages for this device (in batches of 500): they are <c>delivered</c>, leave the inbox and never
    /// come again. Returns how many were newly acknowledged (a repeat or another device's message counts 0).
    /// </summary>
    public async Task<int> AckAsync(IEnumerable<Guid> messageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        var acknowledged = 0;
        foreach (var batch in messageIds.Distinct().Chunk(InboxClient.MaxPage))
        {
            acknowledged += await _hub.InvokeAsync<int>(RealtimeMethods.Ack, batch, cancellationToken);
        }

        return acknowledged;
    }

    /// <summary>Closes the connection and releases it.</summary>
    public ValueTask DisposeAsync() => _hub.DisposeAsync();

    private async Task OnMessageAsync(ReceivedMessage message)
    {
        if (!_options.DropDuplicates || !_seen.Contains(message.MessageId))
        {
            // A handler that throws leaves the message unacknowledged: SignalR logs the error, the inbox keeps it.
            await RaiseAsync(MessageReceived, message);
            _seen.Add(message.MessageId);
        }
        else if (!_options.AcknowledgeAutomatically)
        {
            return;
        }

        if (_options.AcknowledgeAutomatically)
        {
            await _hub.InvokeAsync<int>(RealtimeMethods.Ack, new[] { message.MessageId });
        }
    }

    private static async Task RaiseAsync<T>(Func<T, Task>? handlers, T argument)
    {
        if (handlers is null)
        {
            return;
        }

        foreach (var handler in handlers.GetInvocationList().Cast<Func<T, Task>>())
        {
            await handler(argument);
        }
    }

    /// <summary>The configured waits, the last repeating, with a little jitter; stops when the relay refuses the device.</summary>
    private sealed class ReconnectPolicy(IReadOnlyList<TimeSpan> delays, Action forgetToken) : IRetryPolicy
    {
        public TimeSpan? NextRetryDelay(RetryContext retryContext)
        {
            switch (retryContext.RetryReason)
            {
                case HttpRequestException { StatusCode: HttpStatusCode.Unauthorized }:
                    // The relay no longer takes the token: the next attempt signs in again.
                    forgetToken();
                    break;
                case HttpRequestException { StatusCode: HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.BadRequest }:
                    // The device is not the caller's active device any more (deleted, moved, invalidated).
                    return null;
                case RelayApiException { StatusCode: not HttpStatusCode.TooManyRequests } refused when (int)refused.StatusCode is >= 400 and < 500:
                    // Signing in was refused for good: the account is gone.
                    return null;
            }

            var delay = delays[(int)Math.Min(retryContext.PreviousRetryCount, delays.Count - 1)];
            return delay + (delay / 5 * Random.Shared.NextDouble());
        }
    }

    /// <summary>The last ids handed to the handlers, at most <c>capacity</c> of them.</summary>
    private sealed class RecentIds(int capacity)
    {
        private readonly HashSet<Guid> _ids = [];
        private readonly Queue<Guid> _order = new();
        private readonly Lock _lock = new();

        public bool Contains(Guid id)
        {
            lock (_lock)
            {
                return _ids.Contains(id);
            }
        }

        public void Add(Guid id)
        {
            lock (_lock)
            {
                if (!_ids.Add(id))
                {
                    return;
                }

                _order.Enqueue(id);
                if (_order.Count > capacity)
                {
                    _ids.Remove(_order.Dequeue());
                }
            }
        }
    }
}
