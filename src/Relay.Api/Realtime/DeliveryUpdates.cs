using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Relay.Api.Deliveries;
using Relay.Data;

namespace Relay.Api.Realtime;

/// <summary>
/// Sends <c>DeliveryUpdated</c> to the sender's connected devices whenever a delivery of its message changes state
/// after the send was answered. Changes that the send's own answer reports (its first attempts) are not repeated.
/// </summary>
public sealed partial class DeliveryUpdates : IHostedService
{
    private readonly ConcurrentDictionary<Guid, int> _answering = new();
    private readonly DeliveryWriter _writer;
    private readonly IRealtimeBus _bus;
    private readonly IHubContext<RelayHub, IRelayClient> _hub;
    private readonly ILogger<DeliveryUpdates> _logger;

    public DeliveryUpdates(DeliveryWriter writer, IRealtimeBus bus, IHubContext<RelayHub, IRelayClient> hub, ILogger<DeliveryUpdates> logger)
    {
        _writer = writer;
        _bus = bus;
        _hub = hub;
        _logger = logger;
    }

    /// <summary>Marks a message whose send is being answered; its changes until the mark is disposed are in the answer.</summary>
    public IDisposable Answering(Guid messageId)
    {
        _answering[messageId] = 0;
        return new Mark(this, messageId);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _writer.Changed += OnChanged;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _writer.Changed -= OnChanged;
        return Task.CompletedTask;
    }

    private void OnChanged(IReadOnlyList<ChangedDelivery> changed)
    {
        foreach (var change in changed)
        {
            if (change.SenderAccountId is not { } sender || _answering.ContainsKey(change.MessageId))
            {
                continue;
            }

            var update = new DeliveryUpdate(change.MessageId, change.AccountId, change.DeviceId, change.Status, change.Reason, change.At);
            _ = SendAsync(sender, update);
        }
    }

    private async Task SendAsync(Guid sender, DeliveryUpdate update)
    {
        try
        {
            if (await _bus.HasConnectionsAsync(sender))
            {
                await _hub.Clients.Group(LiveDelivery.AccountGroup(sender)).DeliveryUpdated(update);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            // The connection closed meanwhile; the sender can still ask GET /v1/messages/{id}.
            LogNotSent(_logger, update.MessageId, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "DeliveryUpdated for message {MessageId} not sent: the connection closed")]
    private static partial void LogNotSent(ILogger logger, Guid messageId, Exception error);

    private sealed class Mark(DeliveryUpdates owner, Guid messageId) : IDisposable
    {
        public void Dispose() => owner._answering.TryRemove(messageId, out _);
    }
}
