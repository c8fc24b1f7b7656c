using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Relay.Api.Auth;
using Relay.Api.Inbox;

namespace Relay.Api.Realtime;

/// <summary>
/// <c>/v1/realtime</c>: one connection per device of the caller, named by <c>?deviceId=</c> and admitted by
/// <see cref="RealtimeGate"/>. On connect the device gets its inbox, oldest first, then new messages live; it
/// acknowledges with <see cref="Ack"/>.
/// </summary>
[Authorize]
public sealed class RelayHub(RealtimeConnections connections, IRealtimeBus bus, InboxService inbox) : Hub<IRelayClient>
{
    private const string DeviceKey = "deviceId";

    public override async Task OnConnectedAsync()
    {
        var deviceId = RealtimeGate.DeviceOf(Context.GetHttpContext()!) ?? throw new HubException("deviceId is required.");
        var accountId = Context.User!.AccountId();
        Context.Items[DeviceKey] = deviceId;
        connections.Add(Context, accountId, deviceId);
        await Groups.AddToGroupAsync(Context.ConnectionId, LiveDelivery.DeviceGroup(deviceId));
        await Groups.AddToGroupAsync(Context.ConnectionId, LiveDelivery.AccountGroup(accountId));
        await bus.AnnounceAsync(accountId, deviceId, Context.ConnectionId);

        Guid? after = null;
        bool more;
        do
        {
            var (page, hasMore) = await inbox.ListAsync(deviceId, InboxService.MaxPage, after, Context.ConnectionAborted);
            foreach (var message in page)
            {
                await Clients.Caller.Message(new RealtimeMessage(message.MessageId, message.Ciphertext, message.CollapseId, message.SentAt, message.ExpiresAt));
            }

            after = page.Count > 0 ? page[^1].MessageId : after;
            more = hasMore;
        }
        while (more && !Context.ConnectionAborted.IsCancellationRequested);

        await base.OnConnectedAsync();
    }

    public override async Task OnDisconnectedAsync(Exception? exception)
    {
        connections.Remove(Context.ConnectionId);
        if (Context.Items.TryGetValue(DeviceKey, out var device) && device is Guid deviceId)
        {
            await bus.RetractAsync(Context.User!.AccountId(), deviceId, Context.ConnectionId);
        }

        await base.OnDisconnectedAsync(exception);
    }

    /// <summary>Acknowledges messages for this connection's device; returns how many were newly acknowledged.</summary>
    public async Task<int> Ack(Guid[] messageIds)
    {
        if (messageIds is not { Length: > 0 and <= InboxService.MaxPage })
        {
            throw new HubException($"Ack takes 1 to {InboxService.MaxPage} message ids.");
        }

        return await inbox.AcknowledgeAsync((Guid)Context.Items[DeviceKey]!, messageIds, Context.ConnectionAborted);
    }
}
