using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using NSec.Cryptography;

namespace Relay.Api.Tests;

/// <summary>An account the test owns: its Ed25519 key and an HTTP client signed in as it.</summary>
public sealed record TestAccount(Guid AccountId, Key Key, HttpClient Client)
{
    public async Task<IssuedChallenge> GetChallengeAsync()
    {
        using var anonymous = new HttpClient { BaseAddress = Client.BaseAddress };
        var response = await anonymous.PostAsJsonAsync("/v1/auth/challenge", new { accountId = AccountId });
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<IssuedChallenge>())!;
    }

    public string Sign(string challenge) =>
        LogCapture.Secret(Convert.ToBase64String(SignatureAlgorithm.Ed25519.Sign(Key, Encoding.UTF8.GetBytes($"relay-auth-v1:{AccountId:D}:{challenge}"))));

    public async Task<HttpResponseMessage> RedeemAsync(string challenge, string signature)
    {
        using var anonymous = new HttpClient { BaseAddress = Client.BaseAddress };
        return await anonymous.PostAsJsonAsync("/v1/auth/token", new { accountId = AccountId, challenge, signature });
    }

    public async Task<string> SignInAsync()
    {
        var challenge = await GetChallengeAsync();
        var response = await RedeemAsync(challenge.Challenge, Sign(challenge.Challenge));
        response.EnsureSuccessStatusCode();
        return LogCapture.Secret((await response.Content.ReadFromJsonAsync<TokenBody>())!.AccessToken);
    }

    /// <summary>Registers a device with a fresh random token and returns its id and token.</summary>
    public async Task<(Guid DeviceId, string Token)> RegisterDeviceAsync(string topic = RelayFactory.ChatTopic, string environment = "production", string? token = null)
    {
        token ??= LogCapture.Secret(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        var response = await Client.PostAsJsonAsync("/v1/devices", new { token, topic, environment });
        response.EnsureSuccessStatusCode();
        return ((await response.Content.ReadFromJsonAsync<DeviceBody>())!.DeviceId, token.ToLowerInvariant());
    }

    public sealed record IssuedChallenge(string Challenge, DateTimeOffset ExpiresAt);

    private sealed record TokenBody(string AccessToken, DateTimeOffset ExpiresAt);

    private sealed record DeviceBody(Guid DeviceId);
}
