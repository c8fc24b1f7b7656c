using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Relay.Api.Health;
using Relay.Api.Messages;
using Relay.Api.Realtime;
using Relay.Apns;
using Relay.Data;

namespace Relay.Api.Deliveries;

/// <summary>
/// Makes one APNs attempt of a leased delivery, judges the answer with <see cref="DeliveryPolicy"/>, records what it
/// says about the device and writes the delivery's new state. The same path serves a message's first attempt and the
/// dispatcher's retries. Attempts run detached from the request that started them and are tracked, so a stopping
/// relay can let them finish and give back the leases of those that cannot.
/// </summary>
public sealed partial class DeliveryAttempts(
    ApnsClient apns,
    IOptions<ApnsApps> apps,
    DeliveryPolicy policy,
    DeliveryWriter writer,
    OutageGates gates,
    DeliverySuccesses successes,
    IDbContextFactory<RelayDbContext> contexts,
    RelayInstance instance,
    RelayMetrics metrics,
    ApnsHealth apnsHealth,
    LiveDelivery live,
    TimeProvider time,
    ILogger<DeliveryAttempts> logger) : IDisposable
{
    private readonly ConcurrentDictionary<Guid, Task<AttemptResult>> _running = new();
    private readonly CancellationTokenSource _abandon = new();

    public void Dispose() => _abandon.Dispose();

    /// <summary>Attempts running now.</summary>
    public int Running => _running.Count;

    /// <summary>Starts an attempt of a delivery this instance leased; the task ends once its result is written.</summary>
    public Task<AttemptResult> Start(ClaimedDelivery delivery, ReadOnlyMemory<byte>? payload = null)
    {
        var attempt = AttemptAsync(delivery, payload, _abandon.Token);
        _running[delivery.Id] = attempt;
        _ = attempt.ContinueWith(_ => _running.TryRemove(delivery.Id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (attempt.IsCompleted)
        {
            // It finished before it was tracked: the continuation above found nothing to remove.
            _running.TryRemove(delivery.Id, out _);
        }

        return attempt;
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the running attempts; then abandons the rest and releases their
    /// leases, so another instance (or this one, restarted) attempts them again with the same apns-id.
    /// </summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        var running = _running.Values.ToArray();
        if (running.Length == 0)
        {
            return;
        }

        LogDraining(logger, running.Length, timeout);
        await Task.WhenAny(Task.WhenAll(running), Task.Delay(timeout, time));
        var left = _running.Keys.ToArray();
        if (left.Length == 0)
        {
            return;
        }

        await _abandon.CancelAsync();
        try
        {
            await using var db = await contexts.CreateDbContextAsync();
            await db.ReleaseLeasesAsync(instance.Id, left);
        }
        catch (Exception e) when (DatabaseOutage.IsOutage(e))
        {
            // The leases run out on their own.
        }

        LogAbandoned(logger, left.Length);
    }

    private async Task<AttemptResult> AttemptAsync(ClaimedDelivery delivery, ReadOnlyMemory<byte>? payload, CancellationToken cancellationToken)
    {
        var app = apps.Value.Find(delivery.Topic);
        if (delivery.DeviceInvalidReason is { } invalid)
        {
            return await SettleAsync(delivery, DeliveryPolicy.Unsendable(invalid, time.GetUtcNow()), delivery.Attempts);
        }

        if (app is null || delivery.Ciphertext is null)
        {
            LogUnsendable(logger, delivery.Id, delivery.DeviceId, delivery.Topic);
            return await SettleAsync(delivery, DeliveryPolicy.Unsendable(null, time.GetUtcNow()), delivery.Attempts);
        }

        // A device connected now gets it over its socket first; its acknowledgement (which wrote the delivery
        // delivered) makes the push unnecessary.
        if (delivery.Attempts == 0 && await live.TryDeliverAsync(delivery, cancellationToken))
        {
            return new AttemptResult(delivery.Id, DeliveryStatus.Delivered, null);
        }

        var environment = delivery.Environment;
        var gate = gates.For(environment);
        if (!gate.TryPass(out var retryAt))
        {
            metrics.AttemptHeld();
            var held = new DeliveryVerdict(DeliveryStatus.Retrying, null, retryAt < delivery.RetryUntil ? retryAt : delivery.RetryUntil,
                DeviceVerdictKind.None, null, false, false);
            return await SettleAsync(delivery, held, delivery.Attempts);
        }

        var notification = new ApnsNotification
        {
            ApnsId = delivery.Id,
            DeviceToken = delivery.Token,
            Topic = delivery.Topic,
            Environment = environment,
            Expiration = delivery.ApnsExpiration,
            CollapseId = delivery.CollapseId,
            Payload = payload ?? app.Payload.Build(delivery.Ciphertext, delivery.MessageId),
        };
        var attempts = delivery.Attempts + 1;
        DeliveryVerdict verdict;
        try
        {
            var response = await apns.SendAsync(notification, cancellationToken);
            verdict = policy.Judge(response, attempts, time.GetUtcNow(), delivery.RetryUntil);
        }
        catch (ArgumentException)
        {
            // The notification cannot be built (a header APNs could not carry faithfully): never retried, never a reconnect.
            return await SettleAsync(delivery, DeliveryPolicy.Unsendable("InvalidRequest", time.GetUtcNow()), attempts);
        }
        catch (ApnsException e) when (e.Failure == ApnsFailure.InvalidRequest)
        {
            return await SettleAsync(delivery, DeliveryPolicy.Unsendable("InvalidRequest", time.GetUtcNow()), attempts);
        }
        catch (ApnsException)
        {
            verdict = policy.JudgeNoAnswer(attempts, time.GetUtcNow(), delivery.RetryUntil);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Abandoned at shutdown: the lease is released and the delivery attempted again later.
            return new AttemptResult(delivery.Id, DeliveryStatus.Retrying, null);
        }

        gate.Report(verdict.IsOutage);
        metrics.Attempt(verdict.Status, verdict.Reason);
        await RecordDeviceAsync(delivery, verdict);
        return await SettleAsync(delivery, verdict, attempts);
    }

    private async Task RecordDeviceAsync(ClaimedDelivery delivery, DeliveryVerdict verdict)
    {
        switch (verdict.Device)
        {
            case DeviceVerdictKind.Succeeded:
                apnsHealth.ReportSuccess();
                successes.Record(delivery.DeviceId);
                break;
            case DeviceVerdictKind.Invalidate:
                await using (var db = await contexts.CreateDbContextAsync())
                {
                    if (await DeliveryPolicy.InvalidateIfDeadAsync(db.Devices, delivery.DeviceId, verdict, time.GetUtcNow()))
                    {
                        metrics.DeviceInvalidated(verdict.Reason ?? "Unregistered");
                        LogInvalidated(logger, delivery.DeviceId, delivery.Token[..8], verdict.Reason);
                    }
                    else
                    {
                        LogInvalidationSkipped(logger, delivery.DeviceId, verdict.Reason);
                    }
                }

                break;
        }

        if (verdict.IsConfigurationFault)
        {
            apnsHealth.ReportFault(verdict.Reason ?? "configuration", delivery.Topic);
        }
    }

    private async Task<AttemptResult> SettleAsync(ClaimedDelivery delivery, DeliveryVerdict verdict, int attempts)
    {
        if (DeliveryStatuses.IsFinal(verdict.Status))
        {
            metrics.Delivery(verdict.Status, verdict.Reason);
        }

        var written = await writer.WriteAsync(new DeliveryChange(delivery.Id, verdict.Status, attempts, verdict.NextAttemptAt, verdict.Reason));
        // Not written: another instance settled it first, and its answer stands; ours is not reported.
        return written ? new AttemptResult(delivery.Id, verdict.Status, verdict.Reason) : new AttemptResult(delivery.Id, null, null);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery {ApnsId} to device {DeviceId} cannot be sent: topic {Topic} is not configured")]
    private static partial void LogUnsendable(ILogger logger, Guid apnsId, Guid deviceId, string topic);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} ({TokenPrefix}…) invalidated: {Reason}")]
    private static partial void LogInvalidated(ILogger logger, Guid deviceId, string tokenPrefix, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Device {DeviceId} kept despite {Reason}: it registered again after APNs's timestamp")]
    private static partial void LogInvalidationSkipped(ILogger logger, Guid deviceId, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting up to {Timeout} for {Attempts} APNs attempts in flight")]
    private static partial void LogDraining(ILogger logger, int attempts, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: {Attempts} APNs attempts did not finish in time; their leases are released for a later attempt")]
    private static partial void LogAbandoned(ILogger logger, int attempts);
}

/// <summary>An attempt's outcome as written: the status is null when another instance had settled the delivery first.</summary>
public sealed record AttemptResult(Guid DeliveryId, DeliveryStatus? Status, string? Reason);

/// <summary>One <see cref="OutageGate"/> per APNs environment.</summary>
public sealed class OutageGates(TimeProvider time, IOptions<DeliveryOptions> options)
{
    private readonly OutageGate _production = new(time, options.Value.RetryInitialDelay, options.Value.RetryMaxDelay);
    private readonly OutageGate _sandbox = new(time, options.Value.RetryInitialDelay, options.Value.RetryMaxDelay);

    public OutageGate For(ApnsEnvironment environment) => environment == ApnsEnvironment.Sandbox ? _sandbox : _production;
}
