using NSec.Cryptography;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>/v1/devices</c>: the caller's APNs devices, and the X25519 keys devices publish so that senders can seal
/// envelopes to each of them.
/// </summary>
public sealed class DevicesClient
{
    private readonly RelayHttp _http;

    internal DevicesClient(RelayHttp http) => _http = http;

    /// <summary>
    /// <c>POST /v1/devices</c>: registers an APNs device token. Registering the same token again (do it on every launch)
    /// answers the same device and clears an earlier invalidation; a token another account had moves to this one as a
    /// new device.
    /// </summary>
    /// <param name="token">The APNs device token in hex, as <c>didRegisterForRemoteNotificationsWithDeviceToken</c> gave it.</param>
    /// <param name="topic">The app's bundle id: one of the relay's <c>Apns:Apps</c>.</param>
    /// <param name="environment">The APNs environment of the build.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="RelayApiException">The relay refused it (a bad token, an unknown topic).</exception>
    public async Task<DeviceRegistration> RegisterAsync(string token, string topic, ApnsEnvironment environment, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(topic);
        using var response = await _http.SendAsync(
            new RelayRequest(HttpMethod.Post, "v1/devices") { Body = new RegisterBody(token, topic, environment) },
            cancellationToken);
        var body = await RelayHttp.ReadAsync<DeviceIdBody>(response, cancellationToken);
        return new DeviceRegistration(body.DeviceId, response.StatusCode == System.Net.HttpStatusCode.Created);
    }

    /// <summary><c>GET /v1/devices</c>: the caller's devices, invalidated ones included, oldest registration first.</summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public async Task<IReadOnlyList<DeviceInfo>> ListAsync(CancellationToken cancellationToken = default) =>
        await _http.SendAsync<List<DeviceInfo>>(new RelayRequest(HttpMethod.Get, "v1/devices"), cancellationToken);

    /// <summary><c>DELETE /v1/devices/{deviceId}</c>: removes one of the caller's devices (on sign-out) with its inbox.</summary>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: not the caller's device).</exception>
    public async Task DeleteAsync(Guid deviceId, CancellationToken cancellationToken = default)
    {
        using (await _http.SendAsync(new RelayRequest(HttpMethod.Delete, $"v1/devices/{deviceId:D}"), cancellationToken))
        {
        }
    }

    /// <summary>
    /// <c>PUT /v1/devices/{deviceId}/key</c>: publishes the device's X25519 public key, signed by the account's identity
    /// key over <c>relay-device-key-v1:{accountId}:{deviceId}:{publicKey}</c>, so that senders who trust the identity
    /// key can trust the device key.
    /// </summary>
    /// <param name="deviceId">One of the caller's devices.</param>
    /// <param name="publicKey">Its 32-byte X25519 public key (<see cref="DeviceKeyPair.PublicKey"/>).</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ArgumentException">The key is not 32 bytes.</exception>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: not the caller's device).</exception>
    public async Task PublishKeyAsync(Guid deviceId, ReadOnlyMemory<byte> publicKey, CancellationToken cancellationToken = default)
    {
        if (publicKey.Length != RelayEnvelope.KeyLength)
        {
            throw new ArgumentException($"An X25519 public key is {RelayEnvelope.KeyLength} bytes, not {publicKey.Length}.", nameof(publicKey));
        }

        var accountId = await _http.GetAccountIdAsync(cancellationToken);
        var text = Convert.ToBase64String(publicKey.Span);
        var signature = SignatureAlgorithm.Ed25519.Sign(_http.IdentityKey, RelaySignatures.DeviceKeyText(accountId, deviceId, text));
        using (await _http.SendAsync(
            new RelayRequest(HttpMethod.Put, $"v1/devices/{deviceId:D}/key") { Body = new PublishKeyBody(text, Convert.ToBase64String(signature)) },
            cancellationToken))
        {
        }
    }

    /// <summary>
    /// <c>GET /v1/accounts/{accountId}/devices</c>: the device keys an account published, each checked against the
    /// identity key the caller trusts for that account (learnt from the contact, never from the relay). Keys whose
    /// signature does not verify are set apart in <see cref="DeviceKeySet.Rejected"/>: seal nothing to them.
    /// </summary>
    /// <param name="accountId">The account whose devices to look up.</param>
    /// <param name="trustedIdentityKey">That account's Ed25519 identity key, as the caller knows it.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ArgumentException">The identity key is not an Ed25519 key.</exception>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: no such account).</exception>
    public async Task<DeviceKeySet> GetKeysAsync(Guid accountId, PublicKey trustedIdentityKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(trustedIdentityKey);
        if (trustedIdentityKey.Algorithm != SignatureAlgorithm.Ed25519)
        {
            throw new ArgumentException("An identity key is an Ed25519 public key.", nameof(trustedIdentityKey));
        }

        var published = await _http.SendAsync<List<PublishedDeviceKey>>(
            new RelayRequest(HttpMethod.Get, $"v1/accounts/{accountId:D}/devices"), cancellationToken);
        var verified = new List<DeviceKey>();
        var rejected = new List<PublishedDeviceKey>();
        foreach (var device in published)
        {
            if (Verify(accountId, trustedIdentityKey, device) is { } key)
            {
                verified.Add(key);
            }
            else
            {
                rejected.Add(device);
            }
        }

        return new DeviceKeySet(accountId, verified, rejected);
    }

    /// <summary>The device key when its signature verifies over the exact text published, else null.</summary>
    private static DeviceKey? Verify(Guid accountId, PublicKey identityKey, PublishedDeviceKey device)
    {
        if (device.PublicKey is null || device.Signature is null)
        {
            return null;
        }

        var publicKey = new byte[RelayEnvelope.KeyLength];
        var signature = new byte[SignatureAlgorithm.Ed25519.SignatureSize];
        if (!Convert.TryFromBase64String(device.PublicKey, publicKey, out var keyLength) || keyLength != publicKey.Length
            || !Convert.TryFromBase64String(device.Signature, signature, out var signatureLength) || signatureLength != signature.Length)
        {
            return null;
        }

        return SignatureAlgorithm.Ed25519.Verify(identityKey, RelaySignatures.DeviceKeyText(accountId, device.DeviceId, device.PublicKey), signature)
            ? new DeviceKey(device.DeviceId, publicKey)
            : null;
    }

    private sealed record RegisterBody(string Token, string Topic, ApnsEnvironment Environment);

    private sealed record DeviceIdBody(Guid DeviceId);

    private sealed record PublishKeyBody(string PublicKey, string Signature);
}

/// <summary>The APNs environment a device token belongs to.</summary>
public enum ApnsEnvironment
{
    /// <summary><c>production</c>: App Store and TestFlight builds.</summary>
    Production,

    /// <summary><c>sandbox</c>: development builds.</summary>
    Sandbox,
}

/// <summary>A registered device.</summary>
/// <param name="DeviceId">Its id.</param>
/// <param name="IsNew">Whether this registration created it (<c>201</c>) rather than registered it again (<c>200</c>).</param>
public sealed record DeviceRegistration(Guid DeviceId, bool IsNew);

/// <summary>One of the caller's devices, as <c>GET /v1/devices</c> shows it: never the whole token.</summary>
/// <param name="DeviceId">Its id.</param>
/// <param name="Topic">The app's bundle id.</param>
/// <param name="Environment">Its APNs environment.</param>
/// <param name="TokenPrefix">The first 8 hex digits of its token.</param>
/// <param name="RegisteredAt">When it was last registered.</param>
/// <param name="LastSuccessAt">When APNs last accepted a push for it.</param>
/// <param name="InvalidatedAt">When APNs refused its token for good, if it did; the relay pushes nothing more to it.</param>
/// <param name="InvalidReason">APNs's reason (<c>BadDeviceToken</c>, <c>DeviceTokenNotForTopic</c>, <c>Unregistered</c>).</param>
public sealed record DeviceInfo(
    Guid DeviceId, string Topic, ApnsEnvironment Environment, string TokenPrefix,
    DateTimeOffset RegisteredAt, DateTimeOffset? LastSuccessAt, DateTimeOffset? InvalidatedAt, string? InvalidReason);

/// <summary>A device key whose signature verified against the identity key the caller trusts: safe to seal to.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PublicKey">Its 32-byte X25519 public key.</param>
public sealed record DeviceKey(Guid DeviceId, ReadOnlyMemory<byte> PublicKey);

/// <summary>A device key as the relay lists it, before verification.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="PublicKey">Its X25519 public key, base64, exactly as published.</param>
/// <param name="Signature">The identity key's Ed25519 signature, base64.</param>
public sealed record PublishedDeviceKey(Guid DeviceId, string? PublicKey, string? Signature);

/// <summary>An account's published device keys, sorted by whether their signatures verified.</summary>
/// <param name="AccountId">The account.</param>
/// <param name="Verified">Keys signed by the trusted identity key.</param>
/// <param name="Rejected">Keys whose signature did not verify (or that were malformed): a relay or network that lies, or a stale identity key.</param>
public sealed record DeviceKeySet(Guid AccountId, IReadOnlyList<DeviceKey> Verified, IReadOnlyList<PublishedDeviceKey> Rejected);
