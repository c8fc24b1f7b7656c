using System.Diagnostics;
using System.Security.Cryptography;

namespace Relay.Apns.Tests;

/// <summary>Notifications as the relay builds them: an encrypted alert for a fresh 32-byte device token.</summary>
internal static class TestNotifications
{
    public static ApnsPayload Payload { get; } = new("New message");

    public static string NewDeviceToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public static string NewCiphertext(int bytes = 96) => Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));

    public static ApnsNotification For(
        string? deviceToken = null,
        ApnsEnvironment environment = ApnsEnvironment.Production,
        string topic = MockApnsFixture.Topic,
        string? collapseId = null,
        long? expiration = null) => new()
        {
            DeviceToken = deviceToken ?? NewDeviceToken(),
            Topic = topic,
            Environment = environment,
            CollapseId = collapseId,
            Expiration = expiration,
            Payload = Payload.Build(NewCiphertext(), Guid.NewGuid()),
        };

    /// <summary>Sends each notification once with at most <paramref name="concurrency"/> in flight, timing each.</summary>
    public static async Task<SendResult[]> SendAllAsync(ApnsClient client, IReadOnlyList<ApnsNotification> notifications, int concurrency)
    {
        var results = new SendResult[notifications.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = concurrency };
        await Parallel.ForEachAsync(Enumerable.Range(0, notifications.Count), options, async (i, _) =>
        {
            var notification = notifications[i];
            var started = Stopwatch.GetTimestamp();
            try
            {
                var response = await client.SendAsync(notification, CancellationToken.None);
                results[i] = new SendResult(notification, response, null, Stopwatch.GetElapsedTime(started));
            }
            catch (ApnsException e)
            {
                results[i] = new SendResult(notification, null, e, Stopwatch.GetElapsedTime(started));
            }
        });
        return results;
    }
}

/// <summary>How one send ended: an answer or an <see cref="ApnsException"/>, and how long it took.</summary>
internal sealed record SendResult(ApnsNotification Notification, ApnsResponse? Response, ApnsException? Failure, TimeSpan Elapsed);
