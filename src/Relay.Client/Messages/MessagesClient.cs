using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using NSec.Cryptography;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>/v1/messages</c>: sends (every one with an <c>Idempotency-Key</c>, kept across retries), sealed sends, a sent
/// message's state, and the high-level <see cref="SendEnvelopeAsync"/> that seals to each recipient device's key.
/// </summary>
public sealed class MessagesClient
{
    private readonly RelayHttp _http;
    private readonly DevicesClient _devices;
    private readonly EnvelopesClient _envelopes;
    private readonly ConcurrentDictionary<Guid, (byte[] IdentityKey, DeviceKeySet Keys)> _deviceKeys = new();

    internal MessagesClient(RelayHttp http, DevicesClient devices, EnvelopesClient envelopes)
    {
        _http = http;
        _devices = devices;
        _envelopes = envelopes;
    }

    /// <summary>
    /// <c>POST /v1/messages</c>: the relay stores the message before it answers and pushes it to every target device.
    /// A <c>429</c> or <c>503</c>, or a lost answer, is retried with the same <c>Idempotency-Key</c>: never two messages.
    /// </summary>
    /// <exception cref="ArgumentException">Neither or both of a ciphertext and per-device ciphertexts, or no recipient.</exception>
    /// <exception cref="RelayApiException">
    /// The relay refused it: <c>404</c> an unknown recipient, <c>413</c> too large, <c>400</c> a size or ttl the relay
    /// does not allow, <c>403</c> a delivery key missing, <c>409</c> per-device ciphertexts that do not match the devices.
    /// </exception>
    public Task<SendResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken = default) =>
        PostAsync(message, sealedSender: false, cancellationToken);

    /// <summary>
    /// <c>POST /v1/messages/sealed</c>: a send without the caller's bearer token, so the relay does not learn who sent
    /// it. Every recipient must carry its <see cref="MessageRecipient.DeliveryKey"/>; a wrong or missing one, or an
    /// unknown recipient, is a <c>401</c> that does not say which. The answer has no <c>apnsId</c>, and there is no
    /// <see cref="GetAsync"/> for it. It goes over HTTP connections of its own, never one that carried a signed-in
    /// request, so the relay cannot link the two by connection (unless <see cref="RelayClientOptions.HttpClient"/> or
    /// <see cref="RelayClientOptions.HttpMessageHandler"/> is set: then every request shares what the app gave).
    /// </summary>
    /// <exception cref="ArgumentException">A recipient without a delivery key, or a <see cref="OutgoingMessage.FromDeviceId"/>.</exception>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public Task<SendResult> SendSealedAsync(OutgoingMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To?.Any(r => r.DeliveryKey is null) == true)
        {
            throw new ArgumentException("A sealed send needs every recipient's delivery key.", nameof(message));
        }

        if (message.FromDeviceId is not null)
        {
            throw new ArgumentException("A sealed send names no sending device.", nameof(message));
        }

        return PostAsync(message, sealedSender: true, cancellationToken);
    }

    /// <summary><c>GET /v1/messages/{messageId}</c>: every delivery's state now, for a message the caller sent.</summary>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: not the caller's message, or long expired).</exception>
    public Task<MessageState> GetAsync(Guid messageId, CancellationToken cancellationToken = default) =>
        _http.SendAsync<MessageState>(new RelayRequest(HttpMethod.Get, $"v1/messages/{messageId:D}"), cancellationToken);

    /// <summary>
    /// Seals a <c>relay-hpke-v1</c> envelope to every published device key of the recipients (verified against the
    /// identity keys the caller trusts, padded to the relay's sizes) and posts them as one message with per-device
    /// ciphertexts. Device keys are looked up once and remembered; when the relay answers that the devices changed
    /// (<c>409</c>), they are looked up again and the message is sealed and sent once more.
    /// </summary>
    /// <param name="recipients">The recipient accounts with their trusted identity keys.</param>
    /// <param name="kind">What the envelope carries.</param>
    /// <param name="body">The app's bytes.</param>
    /// <param name="options">ttl, collapse id, sending device, sealed sender.</param>
    /// <param name="cancellationToken">Cancels the lookups and the send.</param>
    /// <exception cref="RelayApiException">The relay refused it, or the devices still did not match after a refresh.</exception>
    public async Task<SendResult> SendEnvelopeAsync(
        IReadOnlyList<EnvelopeRecipient> recipients, EnvelopeKind kind, ReadOnlyMemory<byte> body,
        EnvelopeSendOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        if (recipients.Count == 0)
        {
            throw new ArgumentException("An envelope needs at least one recipient.", nameof(recipients));
        }

        options ??= new EnvelopeSendOptions();
        var sender = await _http.GetAccountIdAsync(cancellationToken);
        for (var attempt = 1; ; attempt++)
        {
            var plaintext = new EnvelopePlaintext(kind, sender, _http.Time.GetUtcNow(), body);
            var ciphertexts = new List<DeviceCiphertext>();
            foreach (var recipient in recipients)
            {
                var keys = await KeysOfAsync(recipient, refresh: attempt > 1, cancellationToken);
                foreach (var device in keys.Verified.Where(d => d.DeviceId != options.FromDeviceId))
                {
                    ciphertexts.Add(new DeviceCiphertext(device.DeviceId, _envelopes.Seal(device.PublicKey.Span, plaintext)));
                }
            }

            // A new Idempotency-Key for each attempt: the second carries other ciphertexts, so it is another message.
            var message = new OutgoingMessage
            {
                To = [.. recipients.Select(r => new MessageRecipient(r.AccountId) { DeliveryKey = r.DeliveryKey })],
                Ciphertexts = ciphertexts,
                TtlSeconds = options.TtlSeconds,
                CollapseId = options.CollapseId,
                FromDeviceId = options.Sealed ? null : options.FromDeviceId,
            };
            try
            {
                return options.Sealed ? await SendSealedAsync(message, cancellationToken) : await SendAsync(message, cancellationToken);
            }
            catch (RelayApiException e) when (attempt == 1 && IsStaleDeviceList(e))
            {
            }
        }
    }

    private async Task<SendResult> PostAsync(OutgoingMessage message, bool sealedSender, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.To is not { Count: > 0 })
        {
            throw new ArgumentException("A message needs at least one recipient.", nameof(message));
        }

        if ((message.Ciphertext is null) == (message.Ciphertexts is null))
        {
            throw new ArgumentException("A message carries either Ciphertext or Ciphertexts, not both and not neither.", nameof(message));
        }

        var body = new SendBody(
            message.To, message.Ciphertext, message.Ciphertexts, message.TtlSeconds, message.CollapseId, message.FromDeviceId);
        return await _http.SendAsync<SendResult>(
            new RelayRequest(HttpMethod.Post, sealedSender ? "v1/messages/sealed" : "v1/messages")
            {
                Body = body,
                Authenticated = !sealedSender,
                Sealed = sealedSender,
                IdempotencyKey = message.IdempotencyKey ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            },
            cancellationToken);
    }

    private async Task<DeviceKeySet> KeysOfAsync(EnvelopeRecipient recipient, bool refresh, CancellationToken cancellationToken)
    {
        var identityKey = recipient.IdentityKey.Export(KeyBlobFormat.RawPublicKey);
        if (!refresh && _deviceKeys.TryGetValue(recipient.AccountId, out var known) && known.IdentityKey.AsSpan().SequenceEqual(identityKey))
        {
            return known.Keys;
        }

        var keys = await _devices.GetKeysAsync(recipient.AccountId, recipient.IdentityKey, cancellationToken);
        _deviceKeys[recipient.AccountId] = (identityKey, keys);
        return keys;
    }

    /// <summary>The relay's <c>409</c> for per-device ciphertexts that are not exactly the recipients' active devices.</summary>
    private static bool IsStaleDeviceList(RelayApiException e) =>
        e.StatusCode == HttpStatusCode.Conflict && e.Problem is { ValueKind: JsonValueKind.Object } problem && problem.TryGetProperty("devices", out _);

    private sealed record SendBody(
        IReadOnlyList<MessageRecipient> To, ReadOnlyMemory<byte>? Ciphertext, IReadOnlyList<DeviceCiphertext>? Ciphertexts,
        int? TtlSeconds, string? CollapseId, Guid? FromDeviceId);
}
