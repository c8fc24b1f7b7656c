using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>The provider token: one shared ES256 JWT, renewed after 50 minutes, never within 20.</summary>
public sealed class ProviderTokenTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public void ProviderTokenIsAnEs256JwtNamingKeyTeamAndIssueTimeOnly()
    {
        var now = new DateTimeOffset(2025, 11, 26, 12, 0, 0, TimeSpan.Zero);
        using var token = apns.CreateProviderToken(new FakeTimeProvider(now));

        var parts = token.Current.Split('.');

        Assert.Equal(3, parts.Length);
        Assert.All(parts, part => Assert.DoesNotContain('=', part));
        using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
        using var claims = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
        Assert.Equal(["alg", "kid"], header.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ES256", header.RootElement.GetProperty("alg").GetString());
        Assert.Equal(MockApnsFixture.KeyId, header.RootElement.GetProperty("kid").GetString());
        Assert.Equal(["iss", "iat"], claims.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(MockApnsFixture.TeamId, claims.RootElement.GetProperty("iss").GetString());
        Assert.Equal(now.ToUnixTimeSeconds(), claims.RootElement.GetProperty("iat").GetInt64());
        var signature = Base64Url.DecodeFromChars(parts[2]);
        Assert.Equal(64, signature.Length);
        Assert.True(apns.Certificates.ProviderKey.VerifyData(
            Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), signature, HashAlgorithmName.SHA256,
            DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
    }

    [Fact]
    public async Task ThousandConcurrentSendsMintExactlyOneProviderToken()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notifications = Enumerable.Range(0, 1000).Select(_ => TestNotifications.For()).ToArray();

        var responses = await Task.WhenAll(notifications.Select(n => client.SendAsync(n)));

        Assert.All(responses, r => Assert.True(r.IsAccepted));
        Assert.Equal(1, client.ProviderToken.MintedCount);
        Assert.Equal(1, mock.Counters.DistinctProviderTokens);
        Assert.Single(mock.Notifications.Select(n => n.ProviderToken).Distinct());
    }

    [Fact]
    public async Task ProviderTokenIsKeptFor49MinutesAndRenewedAfter50()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mock = await apns.StartMockAsync(o => o.TimeProvider = clock);
        using var client = apns.CreateClient(mock, timeProvider: clock);

        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var first = client.ProviderToken.Current;
        clock.Advance(TimeSpan.FromMinutes(49));
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        Assert.Equal(first, client.ProviderToken.Current);
        Assert.Equal(1, client.ProviderToken.MintedCount);

        clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var afterRenewal = await client.SendAsync(TestNotifications.For());

        Assert.True(afterRenewal.IsAccepted);
        Assert.Equal(2, client.ProviderToken.MintedCount);
        Assert.NotEqual(first, client.ProviderToken.Current);
        Assert.Equal(2, mock.Counters.DistinctProviderTokens);
        var last = mock.Notifications[^1];
        Assert.Equal(client.ProviderToken.Current, last.ProviderToken);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeSeconds(), last.ProviderTokenIssuedAt.ToUnixTimeSeconds());
    }

    [Fact]
    public async Task RenewalAfter50MinutesOnALiveConnectionDoesNotTripTheTokenUpdateRate()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mock = await apns.StartMockAsync(o =>
        {
            o.TimeProvider = clock;
            o.EnforceTokenUpdateRate = true;
        });
        using var client = apns.CreateClient(mock, timeProvider: clock, configure: o => o.ConnectionsPerEndpoint = 1);

        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        clock.Advance(TimeSpan.FromMinutes(51));
        var renewed = await client.SendAsync(TestNotifications.For());

        Assert.True(renewed.IsAccepted);
        Assert.Equal(2, client.ProviderToken.MintedCount);
        Assert.Single(mock.Notifications.Select(n => n.ConnectionId).Distinct());
        Assert.Equal(0, mock.Counters.RejectedFor(ApnsReasons.TooManyProviderTokenUpdates));
    }

    [Fact]
    public async Task ExpiredProviderTokenIsRenewedOnceAndTheRetryAccepted()
    {
        // The relay's clock runs 30 minutes behind APNs's. Forty minutes after the first token, the relay sees a
        // 40-minute-old token (no proactive renewal yet) while APNs sees a 70-minute-old one and answers
        // ExpiredProviderToken: a genuine expiry, not a scripted one.
        var apnsClock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var relayClock = new FakeTimeProvider(apnsClock.GetUtcNow() - TimeSpan.FromMinutes(30));
        await using var mock = await apns.StartMockAsync(o => o.TimeProvider = apnsClock);
        using var client = apns.CreateClient(mock, timeProvider: relayClock);
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var expired = client.ProviderToken.Current;
        apnsClock.Advance(TimeSpan.FromMinutes(40));
        relayClock.Advance(TimeSpan.FromMinutes(40));
        var notification = TestNotifications.For();

        var response = await client.SendAsync(notification);

        Assert.True(response.IsAccepted);
        Assert.Equal(2, client.ProviderToken.MintedCount);
        Assert.Equal(1, mock.Counters.RejectedFor(ApnsReasons.ExpiredProviderToken));
        Assert.Equal(3, mock.Counters.Requests);
        var delivered = Assert.Single(mock.NotificationsFor(notification.DeviceToken));
        Assert.NotEqual(expired, delivered.ProviderToken);
        Assert.Equal(client.ProviderToken.Current, delivered.ProviderToken);
        Assert.Equal(notification.ApnsId.ToString("D"), delivered.ApnsId);
    }

    [Fact]
    public async Task ExpiredProviderTokenOnATokenYoungerThan20MinutesIsRetriedOnceWithoutRenewal()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, timeProvider: clock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ExpiredProviderToken);
        _ = client.ProviderToken.Current;
        clock.Advance(TimeSpan.FromMinutes(19));

        var response = await client.SendAsync(notification);

        Assert.Equal(403, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.ExpiredProviderToken, response.Reason);
        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(2, mock.Counters.Requests);
        Assert.Equal(1, client.ProviderToken.MintedCount);
        Assert.Equal(1, mock.Counters.DistinctProviderTokens);
    }

    [Fact]
    public async Task ExpiredProviderTokenForeverCostsTwoRequestsPerSendAndOneRenewalForAll()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(25));
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, timeProvider: clock);
        var first = client.ProviderToken.Current;
        clock.Advance(TimeSpan.FromMinutes(25));
        var deviceToken = TestNotifications.NewDeviceToken();
        mock.Script(deviceToken, MockApnsBehavior.ExpiredProviderToken);
        var notifications = Enumerable.Range(0, 200).Select(_ => TestNotifications.For(deviceToken)).ToArray();

        var responses = await Task.WhenAll(notifications.Select(n => client.SendAsync(n)));

        Assert.All(responses, r => Assert.Equal(ApnsRejectionReason.ExpiredProviderToken, r.Reason));
        Assert.Equal(2 * notifications.Length, mock.Counters.Requests);
        Assert.Equal(2, client.ProviderToken.MintedCount);
        Assert.NotEqual(first, client.ProviderToken.Current);
        Assert.Equal(2, mock.Counters.DistinctProviderTokens);
    }

    [Fact]
    public async Task ExpiredProviderTokenOnAnOldEnoughTokenRenewsAndTheRetryCarriesTheNewToken()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(21));
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, timeProvider: clock);
        var old = client.ProviderToken.Current;
        clock.Advance(TimeSpan.FromMinutes(21));
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ExpiredProviderToken.Times(1));

        var response = await client.SendAsync(notification);

        Assert.True(response.IsAccepted);
        Assert.Equal(2, mock.Counters.Requests);
        Assert.Equal(2, client.ProviderToken.MintedCount);
        var delivered = Assert.Single(mock.Notifications);
        Assert.NotEqual(old, delivered.ProviderToken);
        Assert.Equal(client.ProviderToken.Current, delivered.ProviderToken);
    }
}
