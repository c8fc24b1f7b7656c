using Microsoft.Extensions.Options;
using Relay.Api.Configuration;
using Relay.Api.Health;
using Relay.Apns;
using Relay.Data;

namespace Relay.Api.Messages;

/// <summary>
/// Sends one message to every active device of its recipients, concurrently, and writes back what APNs taught us
/// about each device (SPEC §6).
/// </summary>
public sealed partial class MessageDispatcher(
    RelayDbContext db,
    RecipientLookup recipients,
    ApnsClient apns,
    IOptions<RelayAppsOptions> apps,
    TimeProvider time,
    RelayMetrics metrics,
    ApnsHealth apnsHealth,
    DeliverySuccesses successes,
    ILogger<MessageDispatcher> logger) : IDisposable
{
    public void Dispose() => _writes.Dispose();

    /// <summary>The longest ciphertext (base64 characters, a multiple of 4) that fits the payload of every app.</summary>
    public int MaxCiphertextLength => apps.Value.MaxCiphertextLength;

    public async Task<DispatchResult> SendAsync(SendMessageRequest request, CancellationToken cancellationToken)
    {
        var to = request.To!;
        var found = await recipients.FindAsync(to, cancellationToken);
        if (found.Count != to.Count)
        {
            return new DispatchResult(null, to.First(id => !found.ContainsKey(id)));
        }

        var targets = to.SelectMany(id => found[id]).ToList();
        metrics.MessageAccepted(to.Count);
        var messageId = Guid.NewGuid();
        var now = time.GetUtcNow();
        long expiration = request.TtlSeconds is 0 ? 0 : now.ToUnixTimeSeconds() + (request.TtlSeconds ?? SendMessageRequest.MaxTtlSeconds);
        var payloads = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var sends = new Task<Delivery>[targets.Count];
        for (var i = 0; i < targets.Count; i++)
        {
            var target = targets[i];
            var app = apps.Value.Find(target.Topic);
            if (app is null)
            {
                LogTopicNotConfigured(logger, target.DeviceId, target.Topic);
                sends[i] = Task.FromResult(new Delivery(target.AccountId, target.DeviceId, DeliveryStatus.Failed, null, null));
                continue;
            }

            if (!payloads.TryGetValue(target.Topic, out var payload))
            {
                payloads[target.Topic] = payload = app.Payload.Build(request.Ciphertext!, messageId);
            }

            var notification = new ApnsNotification
            {
                DeviceToken = target.Token,
                Topic = target.Topic,
                Environment = target.Environment == DeviceEnvironment.Sandbox ? ApnsEnvironment.Sandbox : ApnsEnvironment.Production,
                Expiration = expiration,
                CollapseId = request.CollapseId,
                Payload = payload,
            };
            sends[i] = SendOneAsync(target, notification, cancellationToken);
        }

        var deliveries = await Task.WhenAll(sends);
        var sentCount = deliveries.Count(d => d.Status == DeliveryStatus.Sent);
        LogDispatched(logger, messageId, to.Count, deliveries.Length, sentCount);
        return new DispatchResult(new SendMessageResponse(messageId, deliveries), null);
    }

    private async Task<Delivery> SendOneAsync(RecipientDevice target, ApnsNotification notification, CancellationToken cancellationToken)
    {
        ApnsResponse response;
        try
        {
            response = await apns.SendAsync(notification, cancellationToken);
        }
        catch (ApnsException e)
        {
            LogNoAnswer(logger, notification.ApnsId, target.DeviceId, e.IsTimeout);
            metrics.Delivery(DeliveryStatus.Failed, "NoAnswer");
            return new Delivery(target.AccountId, target.DeviceId, DeliveryStatus.Failed, notification.ApnsId, null);
        }

        var status = response.IsAccepted ? DeliveryStatus.Sent : DeliveryStatus.Failed;
        metrics.Delivery(status, response.ReasonText);
        switch (response.Outcome)
        {
            case ApnsOutcome.Accepted:
                apnsHealth.ReportSuccess();
                successes.Record(target.DeviceId);
                break;
            case ApnsOutcome.DeviceTokenInvalid:
                await InvalidateAsync(target, response.ReasonText!, null);
                break;
            case ApnsOutcome.DeviceTokenUnregistered:
                await InvalidateAsync(target, response.ReasonText ?? "Unregistered", response.TokenInvalidatedAt);
                break;
            case ApnsOutcome.ConfigurationFault:
                apnsHealth.ReportFault(response.ReasonText ?? response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), target.Topic);
                LogConfigurationFault(logger, notification.ApnsId, target.Topic, response.StatusCode, response.ReasonText);
                break;
        }

        return new Delivery(target.AccountId, target.DeviceId, status, response.ApnsId, response.ReasonText);
    }

    /// <summary>
    /// Marks the device invalid. A 410's timestamp only invalidates a registration older than it: a device that
    /// registered again after APNs saw the token die is alive.
    /// </summary>
    private async Task InvalidateAsync(RecipientDevice target, string reason, DateTimeOffset? invalidSince)
    {
        bool invalidated;
        await _writes.WaitAsync();
        try
        {
            invalidated = await db.Devices.InvalidateAsync(target.DeviceId, reason, invalidSince, time.GetUtcNow());
        }
        finally
        {
            _writes.Release();
        }

        if (invalidated)
        {
            metrics.DeviceInvalidated(reason);
            LogInvalidated(logger, target.DeviceId, target.Token[..8], reason);
        }
        else
        {
            LogInvalidationSkipped(logger, target.DeviceId, reason);
        }
    }

    // One DbContext is not thread-safe: the concurrent sends take turns for their writes.
    private readonly SemaphoreSlim _writes = new(1, 1);


    [LoggerMessage(Level = LogLevel.Information, Message = "Message {MessageId} for {Recipients} accounts: {Sent} of {Devices} devices sent")]
    private static partial void LogDispatched(ILogger logger, Guid messageId, int recipients, int devices, int sent);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No answer from APNs for {ApnsId} to device {DeviceId} (timeout: {Timeout})")]
    private static partial void LogNoAnswer(ILogger logger, Guid apnsId, Guid deviceId, bool timeout);

    [LoggerMessage(Level = LogLevel.Error, Message = "APNs configuration fault on {ApnsId} for topic {Topic}: {StatusCode} {Reason}")]
    private static partial void LogConfigurationFault(ILogger logger, Guid apnsId, string topic, int statusCode, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} ({TokenPrefix}…) invalidated: {Reason}")]
    private static partial void LogInvalidated(ILogger logger, Guid deviceId, string tokenPrefix, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} kept despite {Reason}: it registered again after APNs's timestamp")]
    private static partial void LogInvalidationSkipped(ILogger logger, Guid deviceId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Device {DeviceId} has topic {Topic}, which is no longer configured")]
    private static partial void LogTopicNotConfigured(ILogger logger, Guid deviceId, string topic);
}

public sealed record DispatchResult(SendMessageResponse? Response, Guid? UnknownAccount);
