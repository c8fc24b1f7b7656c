using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>/v1/realtime</c>: the realtime channel, one SignalR connection per device. A connected device gets each message
/// at once (its inbox first, oldest first, then live) and, by acknowledging in time, spares itself the push.
/// </summary>
public sealed class RealtimeClient
{
    private readonly RelayHttp _http;

    internal RealtimeClient(RelayHttp http) => _http = http;

    /// <summary>
    /// A connection for one of the caller's devices, not started: subscribe to its events, then
    /// <see cref="RealtimeConnection.StartAsync"/>. A device has one connection at a time; a second one (here or
    /// elsewhere) closes the first.
    /// </summary>
    /// <param name="deviceId">One of the caller's registered, active devices.</param>
    /// <param name="options">Acknowledgement and duplicate handling; the defaults suit most apps.</param>
    public RealtimeConnection Create(Guid deviceId, RealtimeConnectionOptions? options = null) =>
        new(_http, deviceId, options ?? new RealtimeConnectionOptions());
}

/// <summary>How a <see cref="RealtimeConnection"/> treats the messages it receives.</summary>
public sealed class RealtimeConnectionOptions
{
    /// <summary>
    /// Acknowledge each message once every <see cref="RealtimeConnection.MessageReceived"/> handler has returned
    /// without throwing (<see langword="true"/> by default). A message acknowledged within the relay's
    /// <c>Realtime:AckTimeout</c> (1 s by default) is <c>delivered</c> and never pushed; one whose handler threw is
    /// not acknowledged, and comes again from the inbox.
    /// </summary>
    public bool AcknowledgeAutomatically { get; init; } = true;

    /// <summary>
    /// Hand each message id to the handlers once (<see langword="true"/> by default): a message can arrive twice, live
    /// and from the inbox replay that starts every connection. A repeat is acknowledged again when
    /// <see cref="AcknowledgeAutomatically"/> is on, and otherwise ignored.
    /// </summary>
    public bool DropDuplicates { get; init; } = true;

    /// <summary>How many recent message ids are remembered to drop duplicates; 4096 by default.</summary>
    public int DuplicateWindow { get; init; } = 4096;
}

/// <summary>A delivery of a message the caller sent changed state after the send was answered.</summary>
/// <param name="MessageId">The message.</param>
/// <param name="AccountId">The recipient.</param>
/// <param name="DeviceId">Its device.</param>
/// <param name="Status">The new state.</param>
/// <param name="Reason">APNs's reason, or <c>Expired</c>, when there is one.</param>
/// <param name="At">When it changed.</param>
public sealed record DeliveryUpdate(Guid MessageId, Guid AccountId, Guid DeviceId, DeliveryStatus Status, string? Reason, DateTimeOffset At);

/// <summary>The hub's method names, as the relay defines them.</summary>
internal static class RealtimeMethods
{
    public const string Message = "Message";
    public const string DeliveryUpdated = "DeliveryUpdated";
    public const string Ack = "Ack";
}
