using Microsoft.EntityFrameworkCore;
using Relay.Apns;

namespace Relay.Data;

/// <summary>What an attempt's answer does to the device it was for.</summary>
public enum DeviceVerdictKind
{
    /// <summary>Nothing.</summary>
    None,

    /// <summary>APNs accepted a push: record the device's last success.</summary>
    Succeeded,

    /// <summary>The token is dead: invalidate the device (unless it registered again after <see cref="DeliveryVerdict.TokenInvalidSince"/>).</summary>
    Invalidate,
}

/// <summary>
/// The judgement of one attempt: the delivery's next state and what it means for the device and for the pool.
/// </summary>
/// <param name="Status">The delivery's status after the attempt.</param>
/// <param name="Reason">APNs's reason string, or the relay's own (<c>Expired</c>).</param>
/// <param name="NextAttemptAt">When a <see cref="DeliveryStatus.Retrying"/> delivery is due again.</param>
/// <param name="Device">What to record about the device.</param>
/// <param name="TokenInvalidSince">For a 410, the time APNs says the token died.</param>
/// <param name="IsConfigurationFault">APNs rejected the relay's key, team or topic: an operator must act.</param>
/// <param name="IsOutage">A failure of APNs itself (5xx, no answer), as opposed to an answer about this device.</param>
public sealed record DeliveryVerdict(
    DeliveryStatus Status, string? Reason, DateTimeOffset NextAttemptAt, DeviceVerdictKind Device,
    DateTimeOffset? TokenInvalidSince, bool IsConfigurationFault, bool IsOutage);

/// <summary>
/// The one place that decides what an APNs answer (or its absence) does to a delivery and to its device: used by the
/// relay's first attempt, its background dispatcher and <c>relayctl push</c>. Retries back off exponentially with
/// jitter, from <see cref="InitialDelay"/> doubling to <see cref="MaxDelay"/>, never sooner than a <c>Retry-After</c>,
/// and never past the message's retry window.
/// </summary>
public sealed class DeliveryPolicy(TimeSpan initialDelay, TimeSpan maxDelay)
{
    /// <summary>The relay's own reason for a delivery whose message expired before APNs accepted it.</summary>
    public const string ExpiredReason = "Expired";

    /// <summary>The first retry's delay.</summary>
    public TimeSpan InitialDelay { get; } = initialDelay;

    /// <summary>The longest delay between two attempts.</summary>
    public TimeSpan MaxDelay { get; } = maxDelay;

    /// <summary>Judges an answer to the <paramref name="attempts"/>-th attempt (1 for the first).</summary>
    public DeliveryVerdict Judge(ApnsResponse response, int attempts, DateTimeOffset now, DateTimeOffset retryUntil)
    {
        ArgumentNullException.ThrowIfNull(response);
        var reason = response.ReasonText;
        return response.Outcome switch
        {
            ApnsOutcome.Accepted => new(DeliveryStatus.Sent, null, now, DeviceVerdictKind.Succeeded, null, false, false),
            ApnsOutcome.DeviceTokenInvalid => Failed(reason, now, DeviceVerdictKind.Invalidate, null),
            ApnsOutcome.DeviceTokenUnregistered => Failed(reason ?? "Unregistered", now, DeviceVerdictKind.Invalidate, response.TokenInvalidatedAt),
            ApnsOutcome.ConfigurationFault => Failed(reason, now, DeviceVerdictKind.None, null) with { IsConfigurationFault = true },
            // 429 TooManyRequests is about this device: it waits, the others do not.
            ApnsOutcome.RetryLater => Retry(reason, attempts, now, retryUntil, response.RetryAfter,
                isOutage: response.Reason is not ApnsRejectionReason.TooManyRequests),
            _ => Failed(reason ?? StatusText(response.StatusCode), now, DeviceVerdictKind.None, null),
        };
    }

    /// <summary>Judges an attempt that got no answer (the connection failed or the deadline passed).</summary>
    public DeliveryVerdict JudgeNoAnswer(int attempts, DateTimeOffset now, DateTimeOffset retryUntil) =>
        Retry(null, attempts, now, retryUntil, null, isOutage: true);

    /// <summary>The verdict for a delivery that cannot be attempted at all (its device or topic is gone).</summary>
    public static DeliveryVerdict Unsendable(string? reason, DateTimeOffset now) => Failed(reason, now, DeviceVerdictKind.None, null);

    /// <summary>The delay before attempt <paramref name="attempts"/> + 1, jittered into its upper half.</summary>
    public TimeSpan Backoff(int attempts, TimeSpan? retryAfter)
    {
        var exponent = Math.Clamp(attempts - 1, 0, 30);
        var ceiling = Math.Min(MaxDelay.Ticks, InitialDelay.Ticks * (1L << Math.Min(exponent, 20)));
        var delay = TimeSpan.FromTicks(ceiling / 2 + (long)(Random.Shared.NextDouble() * (ceiling / 2)));
        return retryAfter is { } after && after > delay ? after : delay;
    }

    /// <summary>
    /// Records the device side of <paramref name="verdict"/> (a last success is left to the caller, who may batch
    /// it). A 410's timestamp invalidates only a registration older than it.
    /// </summary>
    /// <returns>Whether the device was invalidated now.</returns>
    public static async Task<bool> InvalidateIfDeadAsync(
        DbSet<Device> devices, Guid deviceId, DeliveryVerdict verdict, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(verdict);
        return verdict.Device == DeviceVerdictKind.Invalidate
            && await devices.InvalidateAsync(deviceId, verdict.Reason ?? "Unregistered", verdict.TokenInvalidSince, now, cancellationToken);
    }

    private DeliveryVerdict Retry(string? reason, int attempts, DateTimeOffset now, DateTimeOffset retryUntil, TimeSpan? retryAfter, bool isOutage)
    {
        if (now >= retryUntil)
        {
            return new(DeliveryStatus.Failed, ExpiredReason, now, DeviceVerdictKind.None, null, false, isOutage);
        }

        var next = now + Backoff(attempts, retryAfter);
        return new(DeliveryStatus.Retrying, reason, next < retryUntil ? next : retryUntil, DeviceVerdictKind.None, null, false, isOutage);
    }

    private static DeliveryVerdict Failed(string? reason, DateTimeOffset now, DeviceVerdictKind device, DateTimeOffset? since) =>
        new(DeliveryStatus.Failed, reason, now, device, since, false, false);

    private static string StatusText(int statusCode) => statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
