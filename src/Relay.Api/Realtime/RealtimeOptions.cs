using System.ComponentModel.DataAnnotations;

namespace Relay.Api.Realtime;

/// <summary>The realtime channel (<c>Realtime:*</c>).</summary>
public sealed class RealtimeOptions
{
    public const string SectionName = "Realtime";

    /// <summary>How long a delivery offered to a connected device waits for its acknowledgement before it is pushed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:30")]
    public TimeSpan AckTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The most realtime connections one account may hold at once (one per device).</summary>
    [Range(1, 10_000)]
    public int MaxConnectionsPerAccount { get; set; } = 16;
}

/// <summary>Each device's inbox (<c>Inbox:*</c>).</summary>
public sealed class InboxOptions
{
    public const string SectionName = "Inbox";

    /// <summary>The most unacknowledged messages a device's inbox keeps; past it the oldest leave the inbox.</summary>
    [Range(1, 100_000)]
    public int MaxPerDevice { get; set; } = 1_000;
}
