using System.Security.Cryptography;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>/v1/accounts</c>: the account of the client's identity key, its deletion, and its delivery key (who may wake
/// its phones).
/// </summary>
public sealed class AccountsClient
{
    /// <summary>The length of a delivery key <see cref="CreateDeliveryKey"/> makes; the relay takes 16 to 32 bytes.</summary>
    public const int DeliveryKeyLength = 32;

    private readonly RelayHttp _http;

    internal AccountsClient(RelayHttp http) => _http = http;

    /// <summary>
    /// <c>POST /v1/accounts</c>: creates the account of the client's identity key, or finds it if the relay knows the
    /// key already; either way its id becomes the client's <see cref="RelayClient.AccountId"/>. Sign-in does this by
    /// itself when the id is not known, so apps rarely need to call it.
    /// </summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public Task<AccountRegistration> CreateAsync(CancellationToken cancellationToken = default) => _http.CreateAccountAsync(cancellationToken);

    /// <summary>
    /// <c>DELETE /v1/accounts/me</c>: deletes the account with its devices, their inboxes, its delivery key and the
    /// messages it sent that are still owed to someone. Its tokens stop working at once and the client forgets its
    /// own; the identity key may create a new account later, with a new id, through a new client.
    /// </summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public async Task DeleteAsync(CancellationToken cancellationToken = default)
    {
        using (await _http.SendAsync(new RelayRequest(HttpMethod.Delete, "v1/accounts/me"), cancellationToken))
        {
        }

        _http.ForgetToken();
    }

    /// <summary>
    /// <c>PUT /v1/accounts/me/delivery</c>: sets the account's delivery key, which the app shares with its contacts
    /// inside end-to-end encrypted messages. With <paramref name="required"/>, an authenticated send to this account
    /// must present the key (<see cref="MessageRecipient.DeliveryKey"/>), and a sealed send always must: strangers
    /// cannot make its phones ring.
    /// </summary>
    /// <param name="key">16 to 32 random bytes (<see cref="CreateDeliveryKey"/>); the relay keeps only a hash.</param>
    /// <param name="required">Whether authenticated senders must present it too.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="ArgumentException">The key is not 16 to 32 bytes.</exception>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public async Task SetDeliveryKeyAsync(ReadOnlyMemory<byte> key, bool required, CancellationToken cancellationToken = default)
    {
        if (key.Length is < 16 or > 32)
        {
            throw new ArgumentException($"A delivery key is 16 to 32 bytes, not {key.Length}.", nameof(key));
        }

        using (await _http.SendAsync(
            new RelayRequest(HttpMethod.Put, "v1/accounts/me/delivery") { Body = new DeliveryKeyBody(Convert.ToBase64String(key.Span), required) },
            cancellationToken))
        {
        }
    }

    /// <summary><c>GET /v1/accounts/me/delivery</c>: whether the account has a delivery key and whether senders must present it.</summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public Task<DeliveryKeyState> GetDeliveryKeyAsync(CancellationToken cancellationToken = default) =>
        _http.SendAsync<DeliveryKeyState>(new RelayRequest(HttpMethod.Get, "v1/accounts/me/delivery"), cancellationToken);

    /// <summary><c>DELETE /v1/accounts/me/delivery</c>: removes the delivery key; anyone signed in may send to the account again.</summary>
    /// <exception cref="RelayApiException">The relay refused it.</exception>
    public async Task RemoveDeliveryKeyAsync(CancellationToken cancellationToken = default)
    {
        using (await _http.SendAsync(new RelayRequest(HttpMethod.Delete, "v1/accounts/me/delivery"), cancellationToken))
        {
        }
    }

    /// <summary>A new random delivery key of <see cref="DeliveryKeyLength"/> bytes.</summary>
    public static byte[] CreateDeliveryKey() => RandomNumberGenerator.GetBytes(DeliveryKeyLength);

    private sealed record DeliveryKeyBody(string Key, bool Required);
}

/// <summary>The account of an identity key.</summary>
/// <param name="AccountId">Its id.</param>
/// <param name="IsNew">Whether this call created it (<c>201</c>) rather than found it (<c>200</c>).</param>
public sealed record AccountRegistration(Guid AccountId, bool IsNew);

/// <summary>The account's delivery key, as far as the relay tells: it never shows the key.</summary>
/// <param name="HasKey">Whether one is set.</param>
/// <param name="Required">Whether authenticated senders must present it.</param>
public sealed record DeliveryKeyState(bool HasKey, bool Required);

/// <summary>A signed-in session: the account and when its bearer token expires.</summary>
/// <param name="AccountId">The account signed in.</param>
/// <param name="ExpiresAt">When the relay stops taking the token; the client signs in again before.</param>
public sealed record RelaySession(Guid AccountId, DateTimeOffset ExpiresAt);
