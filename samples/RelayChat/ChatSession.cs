using System.Globalization;
using System.Text.Json;
using NSec.Cryptography;
using Relay.Client;

namespace RelayChat;

/// <summary>How a chat session starts.</summary>
/// <param name="Relay">The relay's base address.</param>
/// <param name="Name">The user's display name; it also names the identity file.</param>
/// <param name="StateDirectory">Where the identity file lives.</param>
/// <param name="Topic">The app's bundle id, one of the relay's <c>Apns:Apps</c>.</param>
/// <param name="Environment">The APNs environment the device registers in.</param>
/// <param name="CiphertextSizes">The relay's <c>Privacy:CiphertextSizes</c>, if it sets them.</param>
public sealed record ChatOptions(
    Uri Relay, string Name, string StateDirectory, string Topic = "com.example.chat",
    ApnsEnvironment Environment = ApnsEnvironment.Sandbox, IReadOnlyList<int>? CiphertextSizes = null);

/// <summary>
/// One user of the console chat, through the SDK only: an account and a device, a realtime connection that prints
/// what arrives (the inbox first), and the commands typed: <c>/to</c>, text, <c>/call</c>, <c>/hangup</c>, <c>/quit</c>.
/// </summary>
public sealed class ChatSession : IAsyncDisposable
{
    /// <summary>A call older than this when it arrives is shown as missed, not rung.</summary>
    public static readonly TimeSpan CallFreshness = TimeSpan.FromSeconds(30);

    private readonly ChatOptions _options;
    private readonly TextWriter _output;
    private ChatIdentity? _identity;
    private RelayClient? _relay;
    private RealtimeConnection? _live;
    private Guid _deviceId;
    private EnvelopeRecipient? _peer;

    public ChatSession(ChatOptions options, TextWriter output)
    {
        _options = options;
        _output = TextWriter.Synchronized(output);
    }

    /// <summary>The account, once started.</summary>
    public Guid AccountId => _relay?.AccountId ?? Guid.Empty;

    /// <summary>
    /// Loads or creates the identity, signs in, registers the device and publishes its key, and connects the
    /// realtime channel (which brings the inbox first).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_options.StateDirectory);
        _identity = ChatIdentity.LoadOrCreate(Path.Combine(_options.StateDirectory, $"{_options.Name}.relaychat.json"));
        _relay = new RelayClient(new RelayClientOptions
        {
            BaseAddress = _options.Relay,
            IdentityKey = _identity.IdentityKey,
            CiphertextSizes = _options.CiphertextSizes,
        });
        await _relay.SignInAsync(cancellationToken);
        _deviceId = (await _relay.Devices.RegisterAsync(_identity.DeviceToken, _options.Topic, _options.Environment, cancellationToken)).DeviceId;
        await _relay.Devices.PublishKeyAsync(_deviceId, _identity.DeviceKey.PublicKey, cancellationToken);

        _output.WriteLine($"You are {_options.Name}, account {AccountId:D}.");
        _output.WriteLine($"Others reach you with: /to {AccountId:D} {_identity.PublicIdentityKey}");

        _live = _relay.Realtime.Create(_deviceId);
        _live.MessageReceived += ShowAsync;
        _live.Reconnecting += _ => Say("(connection lost, reconnecting)");
        _live.Reconnected += _ => Say("(back online)");
        _live.Closed += error => Say(error is null ? "(offline)" : $"(offline: {error.Message})");
        await _live.StartAsync(cancellationToken);
        _output.WriteLine("Ready. Type /to <accountId> <identityKey>, then text to send, /call to ring, /hangup, /quit.");
    }

    /// <summary>Handles one typed line; <see langword="false"/> when the user quits.</summary>
    public async Task<bool> HandleLineAsync(string line, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(line);
        var words = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
        try
        {
            switch (words)
            {
                case []:
                    return true;
                case ["/quit" or "/exit", ..]:
                    return false;
                case ["/to", var account, var identityKey]:
                    SetPeer(account, identityKey.Trim());
                    return true;
                case ["/to", ..]:
                    _output.WriteLine("! usage: /to <accountId> <identityKey>");
                    return true;
                case ["/call"]:
                    await SendAsync(EnvelopeKind.Call, text: null, cancellationToken);
                    return true;
                case ["/hangup"]:
                    await SendAsync(EnvelopeKind.CallCancel, text: null, cancellationToken);
                    return true;
                case [var command, ..] when command.StartsWith('/'):
                    _output.WriteLine($"! unknown command {command}: /to, /call, /hangup, /quit; anything else is a message");
                    return true;
                default:
                    await SendAsync(EnvelopeKind.Message, line.Trim(), cancellationToken);
                    return true;
            }
        }
        catch (RelayApiException e)
        {
            _output.WriteLine($"! {e.Message}");
            return true;
        }
        catch (HttpRequestException e)
        {
            _output.WriteLine($"! the relay did not answer: {e.Message}");
            return true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_live is not null)
        {
            await _live.DisposeAsync();
        }

        _relay?.Dispose();
        _identity?.Dispose();
    }

    private void SetPeer(string account, string identityKey)
    {
        var key = new byte[32];
        if (!Guid.TryParse(account, out var accountId)
            || !Convert.TryFromBase64String(identityKey, key, out var length) || length != key.Length
            || !PublicKey.TryImport(SignatureAlgorithm.Ed25519, key, KeyBlobFormat.RawPublicKey, out var publicKey))
        {
            _output.WriteLine("! /to takes an account id and a 32-byte identity key in base64, as the other side prints them");
            return;
        }

        _peer = new EnvelopeRecipient(accountId, publicKey!);
        _output.WriteLine($"Talking to {accountId:D}.");
    }

    private async Task SendAsync(EnvelopeKind kind, string? text, CancellationToken cancellationToken)
    {
        if (_peer is null)
        {
            _output.WriteLine("! first: /to <accountId> <identityKey>");
            return;
        }

        var body = JsonSerializer.SerializeToUtf8Bytes(new ChatBody(_options.Name, text), JsonSerializerOptions.Web);
        var result = await _relay!.Messages.SendEnvelopeAsync([_peer], kind, body, cancellationToken: cancellationToken);
        var statuses = result.Deliveries.Count == 0
            ? "no device has published a key"
            : string.Join(", ", result.Deliveries.Select(d => d.Status.ToString().ToLowerInvariant()));
        _output.WriteLine($"({Describe(kind)} to {result.Deliveries.Count} device(s): {statuses})");
    }

    private Task ShowAsync(ReceivedMessage message)
    {
        EnvelopePlaintext envelope;
        ChatBody? body;
        try
        {
            envelope = _identity!.DeviceKey.Open(message.Ciphertext.Span);
            body = JsonSerializer.Deserialize<ChatBody>(envelope.Body.Span, JsonSerializerOptions.Web);
        }
        catch (Exception e) when (e is EnvelopeException or JsonException)
        {
            // Acknowledged all the same: it will never open, and asking again would not help.
            return Say($"! a message this device cannot open ({e.Message})");
        }

        var from = $"{body?.From ?? "someone"} ({envelope.Sender:D})";
        var at = envelope.SentAt.ToLocalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);
        return Say(envelope.Kind switch
        {
            EnvelopeKind.Call when DateTimeOffset.UtcNow - envelope.SentAt < CallFreshness => $"RINGING from {from}",
            EnvelopeKind.Call => $"Missed call from {from} at {at}",
            EnvelopeKind.CallCancel => $"Call from {from} ended",
            _ => $"[{body?.From ?? "someone"}] {body?.Text}",
        });
    }

    private Task Say(string line)
    {
        _output.WriteLine(line);
        return Task.CompletedTask;
    }

    private static string Describe(EnvelopeKind kind) => kind switch
    {
        EnvelopeKind.Call => "call",
        EnvelopeKind.CallCancel => "hang-up",
        _ => "message",
    };

    /// <summary>What the chat puts in an envelope's body.</summary>
    private sealed record ChatBody(string From, string? Text);
}
