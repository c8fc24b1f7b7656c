using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.MockApns;

/// <summary>Settings of a <see cref="MockApnsServer"/>.</summary>
public sealed class MockApnsOptions
{
    /// <summary>The address to listen on; loopback by default (<see cref="IPAddress.Any"/> in a container).</summary>
    public IPAddress Host { get; set; } = IPAddress.Loopback;

    /// <summary>The TCP port; 0 picks a free one (see <see cref="MockApnsServer.Port"/>).</summary>
    public int Port { get; set; }

    /// <summary>The TLS server certificate, with its private key.</summary>
    public required X509Certificate2 ServerCertificate { get; set; }

    /// <summary>
    /// The provider key (the .p8) or its public half. Only the public key is used: the mock verifies ES256 signatures.
    /// Either this or <see cref="ProviderPublicKeyPem"/> is required.
    /// </summary>
    public ECDsa? ProviderKey { get; set; }

    /// <summary>The provider key as PEM ("PUBLIC KEY", or the .p8 "PRIVATE KEY" itself).</summary>
    public string? ProviderPublicKeyPem { get; set; }

    /// <summary>The team the provider token must name in <c>iss</c>.</summary>
    public required string TeamId { get; set; }

    /// <summary>The key id the provider token must name in <c>kid</c>.</summary>
    public required string KeyId { get; set; }

    /// <summary>The topics (bundle ids) this team may push to; others get 400 TopicDisallowed. Empty = any topic.</summary>
    public IReadOnlyCollection<string> Topics { get; set; } = [];

    /// <summary>
    /// Apple's rule that a connection carries one stream at a time until a push with a valid provider token succeeded
    /// on it: further concurrent streams are refused with RST_STREAM REFUSED_STREAM.
    /// </summary>
    public bool EnforceOneStreamRule { get; set; }

    /// <summary>
    /// A connection must not switch to a new provider token issued less than 20 minutes after its previous one
    /// (429 TooManyProviderTokenUpdates).
    /// </summary>
    public bool EnforceTokenUpdateRate { get; set; }

    /// <summary>The clock for provider token age (<c>iat</c>) and <see cref="MockApnsNotification.ReceivedAt"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Whether accepted notifications are kept in <see cref="MockApnsServer.Notifications"/>.</summary>
    public bool RecordNotifications { get; set; } = true;

    /// <summary>Whether recorded notifications keep their body (turn off for benchmarks).</summary>
    public bool RecordBodies { get; set; } = true;

    /// <summary>How many recorded notifications are kept; the oldest are dropped first.</summary>
    public int MaxRecordedNotifications { get; set; } = 100_000;
}
