using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Api.Auth;
using Relay.Api.Configuration;

namespace Relay.Api.Tests;

/// <summary>Every 401 says which case it is, and a token whose account is gone opens nothing.</summary>
public sealed class BearerProblemTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task TokenOfADeletedAccountIs401AccountGoneEverywhere()
    {
        var gone = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();
        Assert.Equal(HttpStatusCode.OK, (await gone.Client.GetAsync("/v1/devices")).StatusCode);
        Assert.Equal(1, await relay.Database.ExecuteAsync("DELETE FROM accounts WHERE id = $1", gone.AccountId));
        var before = await CountsAsync();
        var sentBefore = relay.Production.Counters.Accepted;

        var device = new { token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), topic = RelayFactory.ChatTopic, environment = "production" };
        var message = new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(40) };
        HttpResponseMessage[] responses =
        [
            await gone.Client.PostAsJsonAsync("/v1/devices", device),
            await gone.Client.GetAsync("/v1/devices"),
            await gone.Client.DeleteAsync($"/v1/devices/{Guid.NewGuid()}"),
            await gone.Client.PostAsJsonAsync("/v1/messages", message),
            await gone.Client.GetAsync($"/v1/messages/{Guid.NewGuid()}"),
        ];

        foreach (var response in responses)
        {
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized,
                $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {(int)response.StatusCode}");
            Assert.Equal("Account gone", (await JsonRequestTests.AssertProblemAsync(response)).GetProperty("title").GetString());
        }

        Assert.Equal(before, await CountsAsync());
        Assert.Equal(sentBefore, relay.Production.Counters.Accepted);
    }

    [Fact]
    public async Task Each401NamesItsCase()
    {
        var me = await relay.CreateAccountAsync();
        var key = relay.Services.GetRequiredService<IOptions<AuthOptions>>();
        var past = new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-3));
        var expired = LogCapture.Secret(new BearerTokens(key, past).Issue(me.AccountId).Token);
        var otherKey = Options.Create(new AuthOptions { SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) });
        var foreign = LogCapture.Secret(new BearerTokens(otherKey, TimeProvider.System).Issue(me.AccountId).Token);
        var valid = me.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        var tampered = LogCapture.Secret(valid[..^4] + (valid[^4] == 'A' ? "BBBB" : "AAAA"));

        (string? Header, string Title)[] cases =
        [
            (null, "Bearer token missing"),
            ("Bearer", "Bearer token malformed"),
            ("Bearer not-a-jwt", "Bearer token malformed"),
            ("Basic dXNlcjpwYXNz", "Bearer token malformed"),
            ("Bearer a.b.c", "Bearer token malformed"),
            ($"Bearer {expired}", "Bearer token expired"),
            ($"Bearer {foreign}", "Bearer token not signed by this relay"),
            ($"Bearer {tampered}", "Bearer token not signed by this relay"),
        ];
        using var client = relay.CreateRelayClient();
        foreach (var (header, title) in cases)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/devices");
            if (header is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", header);
            }

            var response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var problem = await JsonRequestTests.AssertProblemAsync(response);
            Assert.True(title == problem.GetProperty("title").GetString(), $"{header?[..Math.Min(12, header.Length)]}: {problem}");
            Assert.NotEmpty(response.Headers.WwwAuthenticate);
        }
    }

    [Fact]
    public async Task FailedSignInSaysWhetherTheChallengeOrTheSignatureFailed()
    {
        var me = await relay.CreateAccountAsync();
        var unknown = await me.RedeemAsync(Convert.ToBase64String(new byte[32]), Convert.ToBase64String(new byte[64]));
        var challenge = await me.GetChallengeAsync();
        var badSignature = await me.RedeemAsync(challenge.Challenge, Convert.ToBase64String(new byte[64]));
        var reused = await me.RedeemAsync(challenge.Challenge, me.Sign(challenge.Challenge));

        foreach (var (response, title) in new[] { (unknown, "Challenge not valid"), (badSignature, "Signature not valid"), (reused, "Challenge not valid") })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal(title, (await JsonRequestTests.AssertProblemAsync(response)).GetProperty("title").GetString());
        }
    }

    private async Task<(long, long, long)> CountsAsync() =>
        (await relay.Database.CountAsync("accounts"), await relay.Database.CountAsync("devices"), await relay.Database.CountAsync("messages"));
}
