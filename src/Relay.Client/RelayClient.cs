using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// A client of one relay for one account: typed clients in the shape of the API (<see cref="Accounts"/>,
/// <see cref="Devices"/>, <see cref="Messages"/>, <see cref="Inbox"/>, <see cref="Realtime"/>) and the envelope
/// (<see cref="Envelopes"/>). It signs in by itself with the account's identity key, keeps the bearer token and signs
/// in again before it expires (and once on a <c>401</c>), and retries <c>429</c> and <c>503</c> answers with backoff.
/// </summary>
/// <example>
/// <code>
/// using var identityKey = Key.Create(SignatureAlgorithm.Ed25519, new() { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
/// using var relay = new RelayClient(new RelayClientOptions { BaseAddress = new("https://relay.example.com/"), IdentityKey = identityKey });
/// var device = await relay.Devices.RegisterAsync(apnsTokenHex, "com.example.chat", ApnsEnvironment.Production);
/// var result = await relay.Messages.SendEnvelopeAsync([new(bob, bobIdentityKey)], EnvelopeKind.Message, "hi"u8.ToArray());
/// </code>
/// </example>
/// <remarks>Thread-safe: one instance per account, shared by the whole app, for as long as it runs.</remarks>
public sealed class RelayClient : IDisposable
{
    private readonly RelayHttp _http;

    /// <summary>Creates a client; nothing is sent until the first call.</summary>
    /// <exception cref="ArgumentException">A required option is missing or a value cannot work.</exception>
    public RelayClient(RelayClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _http = new RelayHttp(options);
        Accounts = new AccountsClient(_http);
        Devices = new DevicesClient(_http);
        Envelopes = new EnvelopesClient(_http);
        Messages = new MessagesClient(_http, Devices, Envelopes);
        Inbox = new InboxClient(_http);
        Realtime = new RealtimeClient(_http);
    }

    /// <summary>The account's id, once known: from the options, or after the first sign-in.</summary>
    public Guid? AccountId => _http.AccountId;

    /// <summary>The account: creation, deletion, delivery key.</summary>
    public AccountsClient Accounts { get; }

    /// <summary>The account's devices and the device keys of any account.</summary>
    public DevicesClient Devices { get; }

    /// <summary>Sends, sealed sends, envelopes to accounts, and a sent message's state.</summary>
    public MessagesClient Messages { get; }

    /// <summary>A device's inbox over REST.</summary>
    public InboxClient Inbox { get; }

    /// <summary>The realtime channel of a device.</summary>
    public RealtimeClient Realtime { get; }

    /// <summary>Envelopes sealed as this account and padded to the relay's sizes.</summary>
    public EnvelopesClient Envelopes { get; }

    /// <summary>
    /// Signs in now: creates or finds the account (when its id is not known yet), signs a fresh challenge with the
    /// identity key and keeps the bearer token. Every other call signs in by itself when it needs to.
    /// </summary>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: the account is gone).</exception>
    public Task<RelaySession> SignInAsync(CancellationToken cancellationToken = default) => _http.SignInAsync(cancellationToken);

    /// <summary>
    /// A bearer token valid for a while yet, signing in first if needed: for code that talks to the relay on its
    /// own (a Notification Service Extension, say). Keep it as secret as the identity key.
    /// </summary>
    /// <exception cref="RelayApiException">Signing in was refused.</exception>
    public async Task<string> GetAccessTokenAsync(CancellationToken cancellationToken = default) => await _http.GetAccessTokenAsync(cancellationToken);

    /// <summary>Releases the HTTP client the client made (never one the options gave it).</summary>
    public void Dispose() => _http.Dispose();
}
