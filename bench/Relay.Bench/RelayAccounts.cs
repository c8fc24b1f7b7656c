using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NSec.Cryptography;

namespace Relay.Bench;

/// <summary>Accounts and devices on a running relay, made through its HTTP API as an app would.</summary>
internal static class RelayAccounts
{
    /// <summary>
    /// Signs up <paramref name="count"/> senders and as many recipients, and registers one production device for each
    /// recipient; returns each sender's bearer token with its recipient's account id and device token.
    /// </summary>
    public static async Task<Pair[]> PairUpAsync(HttpClient http, string topic, int count)
    {
        var pairs = new Pair[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var sender = await SignUpAsync(http, ct);
            var recipient = await SignUpAsync(http, ct);
            var deviceToken = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var deviceId = await RegisterDeviceAsync(http, recipient.Token, topic, ct, deviceToken);
            pairs[i] = new Pair(sender.Token, recipient.AccountId, deviceToken, recipient.Token, deviceId);
        });
        return pairs;
    }

    /// <summary>Signs up <paramref name="count"/> recipients with <paramref name="devices"/> production devices each; returns their ids.</summary>
    public static async Task<string[]> RecipientsAsync(HttpClient http, string topic, int count, int devices)
    {
        var ids = new string[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            var recipient = await SignUpAsync(http, ct);
            for (var d = 0; d < devices; d++)
            {
                await RegisterDeviceAsync(http, recipient.Token, topic, ct);
            }

            ids[i] = recipient.AccountId.ToString();
        });
        return ids;
    }

    /// <summary>Registers a production device (a random token unless given) for the account; returns its id.</summary>
    public static async Task<Guid> RegisterDeviceAsync(HttpClient http, string bearer, string topic, CancellationToken cancellationToken, string? deviceToken = null)
    {
        using var register = new HttpRequestMessage(HttpMethod.Post, "/v1/devices")
        {
            Content = JsonContent.Create(new { token = deviceToken ?? Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), topic, environment = "production" }),
        };
        register.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        using var response = await http.SendAsync(register, cancellationToken);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("deviceId").GetGuid();
    }

    /// <summary>Creates an account with a fresh Ed25519 key and signs it in.</summary>
    public static async Task<(Guid AccountId, string Token)> SignUpAsync(HttpClient http, CancellationToken cancellationToken)
    {
        using var key = Key.Create(SignatureAlgorithm.Ed25519);
        var created = await http.PostAsJsonAsync("/v1/accounts", new { identityKey = Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)) }, cancellationToken);
        created.EnsureSuccessStatusCode();
        var accountId = (await created.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accountId").GetGuid();
        var issued = await http.PostAsJsonAsync("/v1/auth/challenge", new { accountId }, cancellationToken);
        issued.EnsureSuccessStatusCode();
        var challenge = (await issued.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("challenge").GetString()!;
        var signature = SignatureAlgorithm.Ed25519.Sign(key, Encoding.UTF8.GetBytes($"relay-auth-v1:{accountId:D}:{challenge}"));
        var token = await http.PostAsJsonAsync("/v1/auth/token", new { accountId, challenge, signature = Convert.ToBase64String(signature) }, cancellationToken);
        token.EnsureSuccessStatusCode();
        return (accountId, (await token.Content.ReadFromJsonAsync<JsonElement>(cancellationToken)).GetProperty("accessToken").GetString()!);
    }

    /// <summary>A sender's bearer token, and the recipient it writes to with that recipient's token and one device.</summary>
    public sealed record Pair(string SenderToken, Guid Recipient, string DeviceToken, string RecipientToken, Guid DeviceId);
}
