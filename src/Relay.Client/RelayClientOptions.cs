using Microsoft.AspNetCore.Http.Connections.Client;
using NSec.Cryptography;

namespace Relay.Client;

/// <summary>Everything a <see cref="RelayClient"/> needs: where the relay is, who the caller is, and how patient to be.</summary>
public sealed class RelayClientOptions
{
    /// <summary>The relay's base address, for example <c>https://relay.example.com/</c>. Required.</summary>
    public Uri? BaseAddress { get; set; }

    /// <summary>
    /// The account's Ed25519 identity key (NSec, <see cref="SignatureAlgorithm.Ed25519"/>). Required. The client signs
    /// sign-in challenges and device keys with it and never sends it anywhere; the caller keeps owning it (and
    /// disposes it).
    /// </summary>
    public Key? IdentityKey { get; set; }

    /// <summary>
    /// The account's id when the app already knows it; otherwise the first sign-in asks the relay
    /// (<c>POST /v1/accounts</c> answers the existing id for a known key).
    /// </summary>
    public Guid? AccountId { get; set; }

    /// <summary>
    /// An <see cref="System.Net.Http.HttpClient"/> to send every REST request with, used as is and never disposed by the
    /// client (its <see cref="HttpClient.BaseAddress"/> is ignored: <see cref="BaseAddress"/> is).
    /// </summary>
    public HttpClient? HttpClient { get; set; }

    /// <summary>
    /// A handler for the client's own <see cref="System.Net.Http.HttpClient"/> when <see cref="HttpClient"/> is not
    /// set, also used for the realtime channel's negotiation; never disposed by the client. Tests use it to watch or
    /// shape traffic.
    /// </summary>
    public HttpMessageHandler? HttpMessageHandler { get; set; }

    /// <summary>
    /// How many times a request is tried in all when the relay answers <c>429</c> or <c>503</c>, or no answer comes
    /// (a send keeps its <c>Idempotency-Key</c> across them, so it is never sent twice). At least 1; 5 by default.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The first wait between attempts, doubled each time up to <see cref="RetryMaxDelay"/>, with jitter; 500 ms by default.</summary>
    public TimeSpan RetryInitialDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The longest wait between attempts, unless the relay's <c>Retry-After</c> asks for more; 30 s by default.</summary>
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long before its expiry a bearer token is replaced by a new sign-in; 1 minute by default, and never more
    /// than a quarter of the token's lifetime.
    /// </summary>
    public TimeSpan TokenRenewalMargin { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The relay's <c>Privacy:CiphertextSizes</c>, when it sets them: every envelope the client seals is padded so
    /// that its ciphertext has one of these lengths in bytes (the smallest that fits). Without them, envelopes are
    /// padded to 256, 512, 1024 or 2048 bytes of plaintext (<see cref="EnvelopePadding.Default"/>).
    /// </summary>
    public IReadOnlyList<int>? CiphertextSizes { get; set; }

    /// <summary>
    /// The waits before each attempt to reconnect the realtime channel after it dropped; the last one repeats until
    /// the connection is back or stopped. By default 0 s, 1 s, 2 s, 5 s, 10 s, then every 30 s.
    /// </summary>
    public IReadOnlyList<TimeSpan>? RealtimeReconnectDelays { get; set; }

    /// <summary>
    /// Adjusts the realtime channel's SignalR connection (transports, <c>SkipNegotiation</c>, headers); the access
    /// token provider is the client's own and should stay.
    /// </summary>
    public Action<HttpConnectionOptions>? ConfigureRealtime { get; set; }

    /// <summary>The clock for token expiry, envelope timestamps and retry waits; <see cref="TimeProvider.System"/> by default.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>The default reconnect waits of the realtime channel.</summary>
    internal static IReadOnlyList<TimeSpan> DefaultReconnectDelays { get; } =
        [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)];

    /// <summary>Throws when a required option is missing or a value cannot work.</summary>
    internal void Validate()
    {
        if (BaseAddress is not { IsAbsoluteUri: true } || (BaseAddress.Scheme != Uri.UriSchemeHttp && BaseAddress.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("RelayClientOptions.BaseAddress must be an absolute http or https address.", nameof(BaseAddress));
        }

        if (IdentityKey is null || IdentityKey.Algorithm != SignatureAlgorithm.Ed25519)
        {
            throw new ArgumentException("RelayClientOptions.IdentityKey must be an NSec Ed25519 key.", nameof(IdentityKey));
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, nameof(MaxAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryInitialDelay, TimeSpan.Zero, nameof(RetryInitialDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMaxDelay, RetryInitialDelay, nameof(RetryMaxDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(TokenRenewalMargin, TimeSpan.Zero, nameof(TokenRenewalMargin));
        ArgumentNullException.ThrowIfNull(TimeProvider, nameof(TimeProvider));
        if (RealtimeReconnectDelays is { Count: 0 } || RealtimeReconnectDelays?.Any(d => d < TimeSpan.Zero) == true)
        {
            throw new ArgumentException("RelayClientOptions.RealtimeReconnectDelays needs at least one wait, none negative.", nameof(RealtimeReconnectDelays));
        }
    }
}
