using System.Net;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Time.Testing;

namespace Relay.Api.Tests.Sdk;

/// <summary>A relay whose bearer tokens live one minute, the shortest <c>Auth:TokenLifetime</c> it accepts.</summary>
public sealed class ShortTokenRelayFactory : SdkRelayFactory
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromMinutes(1);

    protected override IEnumerable<(string Key, string Value)> MoreSettings => [("Auth:TokenLifetime", TokenLifetime.ToString())];
}

/// <summary>
/// The SDK keeps a session going across token expiry: it signs in again before the token expires, and when the
/// relay refuses a token anyway (its clock ahead of the app's) it signs in again and retries, over REST and for the
/// realtime channel.
/// </summary>
public sealed class SdkTokenExpiryTests(ShortTokenRelayFactory relay) : IClassFixture<ShortTokenRelayFactory>
{
    [Fact]
    public async Task TheSdkSignsInAgainBeforeItsTokenExpiresSoTheRelayNeverRefusesIt()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var bob = await SdkUser.SignUpAsync(relay, configure: o => o.TimeProvider = clock);

        await bob.Relay.Devices.ListAsync();
        clock.Advance(TimeSpan.FromSeconds(30));
        await bob.Relay.Devices.ListAsync();
        // A quarter of a one-minute token's life before it ends, it is due.
        clock.Advance(TimeSpan.FromSeconds(20));
        await bob.Relay.Devices.ListAsync();

        Assert.Equal(
            [
                "POST /v1/accounts 201", "POST /v1/auth/challenge 200", "POST /v1/auth/token 200",
                "GET /v1/devices 200", "GET /v1/devices 200",
                "POST /v1/auth/challenge 200", "POST /v1/auth/token 200", "GET /v1/devices 200",
            ],
            bob.Traffic.Lines);
    }

    [Fact]
    public async Task AfterTheTokenExpiresTheRelaysRefusalMakesTheSdkSignInAgainAndRetryOverRestAndRealtime()
    {
        // The apps' clocks stand still: they believe their tokens fresh, and only the relay's 401 tells them.
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var alice = await SdkUser.SignUpAsync(relay, configure: o => o.TimeProvider = clock);
        using var bob = await SdkUser.SignUpAsync(relay, configure: o => o.TimeProvider = clock);
        var device = await bob.AddDeviceAsync();
        var aliceToken = await alice.Relay.GetAccessTokenAsync();
        var bobToken = await bob.Relay.GetAccessTokenAsync();

        // The relay takes a token for its lifetime plus 30 s of clock skew; wait until it refuses both.
        using var probe = relay.CreateRelayClient();
        Assert.True(await Eventually.TrueAsync(
            async () => await RefusedAsync(probe, aliceToken) && await RefusedAsync(probe, bobToken), TimeSpan.FromMinutes(3)),
            "the relay still takes the tokens");
        alice.Traffic.Clear();
        bob.Traffic.Clear();

        var devices = await alice.Relay.Devices.ListAsync();
        await using var live = bob.Relay.Realtime.Create(device.DeviceId);
        await live.StartAsync();

        Assert.Empty(devices);
        Assert.Equal(["GET /v1/devices 401", "POST /v1/auth/challenge 200", "POST /v1/auth/token 200", "GET /v1/devices 200"], alice.Traffic.Lines);
        Assert.Equal(HubConnectionState.Connected, live.State);
        Assert.Equal(["POST /v1/realtime/negotiate 401", "POST /v1/auth/challenge 200", "POST /v1/auth/token 200", "POST /v1/realtime/negotiate 200"],
            bob.Traffic.Lines.Where(l => !l.StartsWith("GET /v1/realtime", StringComparison.Ordinal)));
        Assert.NotEqual(aliceToken, await alice.Relay.GetAccessTokenAsync());
    }

    private static async Task<bool> RefusedAsync(HttpClient probe, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/devices");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await probe.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.Unauthorized)
        {
            return true;
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        return false;
    }
}
