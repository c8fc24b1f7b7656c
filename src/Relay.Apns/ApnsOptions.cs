using System.ComponentModel.DataAnnotations;

namespace Relay.Apns;

/// <summary>
/// How to reach APNs and sign provider tokens. Bound from the <c>Apns</c> configuration section and validated
/// when the host starts.
/// </summary>
public sealed class ApnsOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "Apns";

    /// <summary>The 10-character Team ID: the provider token's <c>iss</c>.</summary>
    public string TeamId { get; set; } = "";

    /// <summary>The 10-character Key ID of the <c>.p8</c> signing key: the provider token's <c>kid</c>.</summary>
    public string KeyId { get; set; } = "";

    /// <summary>The path of the <c>.p8</c> file (PKCS#8 PEM, P-256) downloaded from Apple.</summary>
    public string PrivateKeyPath { get; set; } = "";

    /// <summary>The production endpoint.</summary>
    [Required]
    public Uri ProductionEndpoint { get; set; } = new("https://api.push.apple.com");

    /// <summary>The sandbox (development) endpoint.</summary>
    [Required]
    public Uri SandboxEndpoint { get; set; } = new("https://api.sandbox.push.apple.com");

    /// <summary>An extra CA certificate (PEM) to trust for the endpoints: for a mock or staging APNs only.</summary>
    public string? TrustedCaPath { get; set; }

    /// <summary>
    /// Long-lived HTTP/2 connections per environment. Each slot reconnects no sooner than 1 s after its last
    /// connection was made, doubling up to 60 s while APNs accepts nothing on the new ones.
    /// </summary>
    [Range(1, 64)]
    public int ConnectionsPerEndpoint { get; set; } = 2;

    /// <summary>The most requests in flight on one connection (APNs allows about 1,000 streams).</summary>
    [Range(1, 1000)]
    public int MaxConcurrentStreamsPerConnection { get; set; } = 500;

    /// <summary>How long to wait for a TCP and TLS connection.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The deadline of one send, including waiting for a free stream or for a connection whose slot is backing off,
    /// and the client's own re-sends after a reset stream or a failed connection.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The interval of HTTP/2 PING frames, sent even when idle so middleboxes keep the connection.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PingInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a connection lives before it is replaced, so DNS is re-resolved now and then.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan ConnectionLifetime { get; set; } = TimeSpan.FromHours(6);
}
