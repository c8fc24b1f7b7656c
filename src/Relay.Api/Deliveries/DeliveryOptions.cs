using System.ComponentModel.DataAnnotations;

namespace Relay.Api.Deliveries;

/// <summary><c>Delivery:*</c>: how long the relay waits, retries and holds leases.</summary>
public sealed class DeliveryOptions
{
    public const string SectionName = "Delivery";

    /// <summary>How long <c>POST /v1/messages</c> waits for the first APNs attempts before answering <c>retrying</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan AnswerTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The first retry's delay; it doubles with every attempt.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a message with <c>ttlSeconds: 0</c> is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan ImmediateRetryWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an instance holds a delivery it attempts; a dead instance's deliveries are taken over after it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a stopping relay lets APNs attempts in flight finish.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
