using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Relay.Api.Tests;

public sealed class AuthTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task SameIdentityKeyGetsTheSameAccount()
    {
        var account = await relay.CreateAccountAsync();
        using var client = relay.CreateRelayClient();
        var identityKey = Convert.ToBase64String(account.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey));

        var again = await client.PostAsJsonAsync("/v1/accounts", new { identityKey });

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(account.AccountId, (await again.ReadJsonAsync()).GetProperty("accountId").GetGuid());
    }

    [Fact]
    public async Task ChallengeIsThirtyTwoBytesAndExpiresInSixtySeconds()
    {
        var account = await relay.CreateAccountAsync();
        var challenge = await account.GetChallengeAsync();
        Assert.Equal(32, Convert.FromBase64String(challenge.Challenge).Length);
        Assert.InRange(challenge.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));
    }

    [Fact]
    public async Task WrongSignatureIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var other = await relay.CreateAccountAsync();
        var challenge = await account.GetChallengeAsync();

        var response = await account.RedeemAsync(challenge.Challenge, other.Sign(challenge.Challenge));

        await AssertUnauthorizedProblem(response);
    }

    [Fact]
    public async Task ChallengeCannotBeUsedTwice()
    {
        var account = await relay.CreateAccountAsync();
        var challenge = await account.GetChallengeAsync();
        var signature = account.Sign(challenge.Challenge);

        Assert.Equal(HttpStatusCode.OK, (await account.RedeemAsync(challenge.Challenge, signature)).StatusCode);
        await AssertUnauthorizedProblem(await account.RedeemAsync(challenge.Challenge, signature));
    }

    [Fact]
    public async Task ChallengeFailedOnceCannotBeRetried()
    {
        var account = await relay.CreateAccountAsync();
        var other = await relay.CreateAccountAsync();
        var challenge = await account.GetChallengeAsync();

        await AssertUnauthorizedProblem(await account.RedeemAsync(challenge.Challenge, other.Sign(challenge.Challenge)));
        await AssertUnauthorizedProblem(await account.RedeemAsync(challenge.Challenge, account.Sign(challenge.Challenge)));
    }

    [Fact]
    public async Task ExpiredChallengeIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var challenge = await account.GetChallengeAsync();
        await relay.Database.ExecuteAsync(
            "UPDATE auth_challenges SET expires_at = now() - interval '1 second' WHERE challenge = $1",
            Convert.FromBase64String(challenge.Challenge));

        await AssertUnauthorizedProblem(await account.RedeemAsync(challenge.Challenge, account.Sign(challenge.Challenge)));
    }

    [Fact]
    public async Task ChallengeOfAnotherAccountIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var other = await relay.CreateAccountAsync();
        var challenge = await other.GetChallengeAsync();

        await AssertUnauthorizedProblem(await account.RedeemAsync(challenge.Challenge, account.Sign(challenge.Challenge)));
    }

    [Fact]
    public async Task MissingBearerTokenIsUnauthorized()
    {
        using var client = relay.CreateRelayClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/devices")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsJsonAsync("/v1/messages", new { to = new[] { Guid.NewGuid() }, ciphertext = "AAAA" })).StatusCode);
    }

    [Fact]
    public async Task ExpiredBearerTokenIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var token = Forge(account.AccountId, Convert.FromBase64String(relay.SigningKey), DateTime.UtcNow.AddHours(-2), DateTime.UtcNow.AddMinutes(-5));
        await AssertBearerRefused(token);
    }

    [Fact]
    public async Task BearerTokenSignedWithAnotherKeyIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var token = Forge(account.AccountId, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32), DateTime.UtcNow, DateTime.UtcNow.AddHours(1));
        await AssertBearerRefused(token);
    }

    [Fact]
    public async Task TamperedBearerTokenIsUnauthorized()
    {
        var account = await relay.CreateAccountAsync();
        var valid = await account.SignInAsync();
        var parts = valid.Split('.');
        var otherSubject = Forge(Guid.NewGuid(), Convert.FromBase64String(relay.SigningKey), DateTime.UtcNow, DateTime.UtcNow.AddHours(1)).Split('.')[1];
        await AssertBearerRefused($"{parts[0]}.{otherSubject}.{parts[2]}");
    }

    [Fact]
    public async Task ChallengeForUnknownAccountIsNotFound()
    {
        using var client = relay.CreateRelayClient();
        var response = await client.PostAsJsonAsync("/v1/auth/challenge", new { accountId = Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    private async Task AssertBearerRefused(string token)
    {
        using var client = relay.CreateRelayClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/v1/devices")).StatusCode);
    }

    private static async Task AssertUnauthorizedProblem(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.ReadJsonAsync();
        Assert.Equal(401, problem.GetProperty("status").GetInt32());
    }

    private static string Forge(Guid accountId, byte[] key, DateTime issuedAt, DateTime expires) =>
        new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "relay",
            Audience = "relay-v1",
            Subject = new ClaimsIdentity([new Claim("sub", accountId.ToString())]),
            IssuedAt = issuedAt,
            NotBefore = issuedAt,
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(key), SecurityAlgorithms.HmacSha256),
        });
}
