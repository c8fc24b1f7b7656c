using System.Net;
using System.Net.Http.Json;

namespace Relay.Api.Tests;

public sealed class StrictRateLimitRelayFactory : RelayFactory
{
    protected override int AnonymousPerMinute => 3;
}

public sealed class RateLimitTests(StrictRateLimitRelayFactory relay) : IClassFixture<StrictRateLimitRelayFactory>
{
    [Fact]
    public async Task AnonymousEndpointsAreRateLimitedPerClientWithRetryAfter()
    {
        using var client = relay.CreateRelayClient();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 5; i++)
        {
            var response = await client.PostAsJsonAsync("/v1/accounts", new { identityKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) });
            statuses.Add(response.StatusCode);
            limited ??= response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.Created, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.NotNull(limited);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
        Assert.True(limited.Headers.RetryAfter is not null, "no Retry-After header");
        Assert.Equal(3, await relay.Database.CountAsync("accounts"));
    }
}
