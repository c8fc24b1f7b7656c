using System.Security.Cryptography;
using Microsoft.Extensions.Time.Testing;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>Every answer APNs documents: what each becomes on the client's side.</summary>
public sealed class ApnsAnswerTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task AcceptedNotificationIsAcceptedWithItsApnsIdEchoed()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();

        var response = await client.SendAsync(notification);

        Assert.Equal(200, response.StatusCode);
        Assert.True(response.IsAccepted);
        Assert.Equal(ApnsOutcome.Accepted, response.Outcome);
        Assert.Equal(notification.ApnsId, response.ApnsId);
        Assert.Null(response.Reason);
        Assert.Null(response.ReasonText);
        Assert.Equal(notification.ApnsId.ToString("D"), Assert.Single(mock.Notifications).ApnsId);
    }

    [Theory]
    [InlineData(ApnsReasons.BadDeviceToken, ApnsRejectionReason.BadDeviceToken)]
    [InlineData(ApnsReasons.DeviceTokenNotForTopic, ApnsRejectionReason.DeviceTokenNotForTopic)]
    public async Task DeadDeviceTokenIsReportedInvalidWithoutRetrying(string reason, ApnsRejectionReason expected)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(400, reason));

        var response = await client.SendAsync(notification);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(expected, response.Reason);
        Assert.Equal(reason, response.ReasonText);
        Assert.Equal(ApnsOutcome.DeviceTokenInvalid, response.Outcome);
        Assert.Equal(notification.ApnsId, response.ApnsId);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Fact]
    public async Task UnregisteredTokenCarriesTheMocksTimestampToTheMillisecond()
    {
        var since = DateTimeOffset.FromUnixTimeMilliseconds(1_763_456_789_123);
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Unregistered(since));

        var response = await client.SendAsync(notification);

        Assert.Equal(410, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.Unregistered, response.Reason);
        Assert.Equal(ApnsOutcome.DeviceTokenUnregistered, response.Outcome);
        Assert.Equal(since, response.TokenInvalidatedAt);
        Assert.Equal(since.ToUnixTimeMilliseconds(), response.TokenInvalidatedAt!.Value.ToUnixTimeMilliseconds());
    }

    [Fact]
    public async Task UnregisteredWithoutAGivenTimestampCarriesTheMocksClock()
    {
        var mockNow = new DateTimeOffset(2025, 11, 26, 10, 11, 12, 789, TimeSpan.Zero);
        await using var mock = await apns.StartMockAsync(o => o.TimeProvider = new FakeTimeProvider(mockNow));
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(410, ApnsReasons.ExpiredToken));

        var response = await client.SendAsync(notification);

        Assert.Equal(ApnsRejectionReason.ExpiredToken, response.Reason);
        Assert.Equal(ApnsOutcome.DeviceTokenUnregistered, response.Outcome);
        Assert.Equal(mockNow, response.TokenInvalidatedAt);
    }

    [Fact]
    public async Task ProviderTokenSignedWithAnotherKeyIdIsAConfigurationFault()
    {
        await using var mock = await apns.StartMockAsync(o => o.KeyId = "OTHERKEY01");
        using var client = apns.CreateClient(mock);

        var response = await client.SendAsync(TestNotifications.For());

        Assert.Equal(403, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.InvalidProviderToken, response.Reason);
        Assert.Equal(ApnsOutcome.ConfigurationFault, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
        Assert.Equal(1, client.ProviderToken.MintedCount);
    }

    [Fact]
    public async Task ProviderTokenSignedWithAnotherKeyIsAConfigurationFault()
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        await using var mock = await apns.StartMockAsync(o => o.ProviderKey = otherKey);
        using var client = apns.CreateClient(mock);

        var response = await client.SendAsync(TestNotifications.For());

        Assert.Equal(ApnsRejectionReason.InvalidProviderToken, response.Reason);
        Assert.Equal(ApnsOutcome.ConfigurationFault, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Theory]
    [InlineData(ApnsReasons.Forbidden)]
    [InlineData(ApnsReasons.BadEnvironmentKeyIdInToken)]
    public async Task ForbiddenKeysAreAConfigurationFault(string reason)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(403, reason));

        var response = await client.SendAsync(notification);

        Assert.Equal(403, response.StatusCode);
        Assert.Equal(reason, response.ReasonText);
        Assert.Equal(ApnsOutcome.ConfigurationFault, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Fact]
    public async Task TopicTheTeamMayNotPushToIsAConfigurationFault()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);

        var response = await client.SendAsync(TestNotifications.For(topic: "com.example.someone-else"));

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.TopicDisallowed, response.Reason);
        Assert.Equal(ApnsOutcome.ConfigurationFault, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Fact]
    public async Task BadTopicIsAConfigurationFault()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(400, ApnsReasons.BadTopic));

        var response = await client.SendAsync(notification);

        Assert.Equal(ApnsRejectionReason.BadTopic, response.Reason);
        Assert.Equal(ApnsOutcome.ConfigurationFault, response.Outcome);
    }

    [Fact]
    public async Task PayloadTooLargeFailsWithoutRetrying()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(413, ApnsReasons.PayloadTooLarge));

        var response = await client.SendAsync(notification);

        Assert.Equal(413, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.PayloadTooLarge, response.Reason);
        Assert.Equal(ApnsOutcome.Failed, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Fact]
    public async Task TooManyRequestsToOneDeviceIsRetryLaterAndNeverAnImmediateLoop()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.TooManyRequests);

        var response = await client.SendAsync(notification);

        Assert.Equal(429, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.TooManyRequests, response.Reason);
        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Theory]
    [InlineData("120", 120)]
    [InlineData("0", 0)]
    public async Task RetryAfterInSecondsIsReadFromTheAnswer(string header, int seconds)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.ServiceUnavailable.WithRetryAfter(header));

        var response = await client.SendAsync(notification);

        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(TimeSpan.FromSeconds(seconds), response.RetryAfter);
    }

    [Fact]
    public async Task RetryAfterAsAnHttpDateIsTheWaitUntilThatDate()
    {
        var longAgo = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero);
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, timeProvider: new FakeTimeProvider(DateTimeOffset.UtcNow));
        var later = TestNotifications.For();
        var past = TestNotifications.For();
        mock.Script(later.DeviceToken, MockApnsBehavior.TooManyRequests.WithRetryAfter(DateTimeOffset.UtcNow.AddSeconds(90).ToString("R")));
        mock.Script(past.DeviceToken, MockApnsBehavior.TooManyRequests.WithRetryAfter(longAgo.ToString("R")));

        var inNinetySeconds = (await client.SendAsync(later)).RetryAfter;
        var alreadyPast = (await client.SendAsync(past)).RetryAfter;

        Assert.NotNull(inNinetySeconds);
        Assert.InRange(inNinetySeconds.Value, TimeSpan.FromSeconds(85), TimeSpan.FromSeconds(90));
        Assert.Equal(TimeSpan.Zero, alreadyPast);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("soon")]
    public async Task AnswerWithoutAReadableRetryAfterHasNone(string? header)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        var behavior = MockApnsBehavior.ServiceUnavailable;
        mock.Script(notification.DeviceToken, header is null ? behavior : behavior.WithRetryAfter(header));

        var response = await client.SendAsync(notification);

        Assert.Equal(503, response.StatusCode);
        Assert.Null(response.RetryAfter);
    }

    [Theory]
    [InlineData(500, ApnsReasons.InternalServerError)]
    [InlineData(503, ApnsReasons.ServiceUnavailable)]
    [InlineData(503, ApnsReasons.Shutdown)]
    public async Task ServerErrorsAreRetryLater(int status, string reason)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(status, reason));

        var response = await client.SendAsync(notification);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(reason, response.ReasonText);
        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Theory]
    [InlineData(400, ApnsReasons.BadExpirationDate, ApnsRejectionReason.BadExpirationDate)]
    [InlineData(400, ApnsReasons.BadCollapseId, ApnsRejectionReason.BadCollapseId)]
    [InlineData(404, ApnsReasons.BadPath, ApnsRejectionReason.BadPath)]
    [InlineData(400, "SomeReasonAppleAddsLater", ApnsRejectionReason.Unknown)]
    [InlineData(418, "Teapot", ApnsRejectionReason.Unknown)]
    public async Task OtherClientErrorsFailWithApnsReasonText(int status, string reason, ApnsRejectionReason expected)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(status, reason));

        var response = await client.SendAsync(notification);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(expected, response.Reason);
        Assert.Equal(reason, response.ReasonText);
        Assert.Equal(ApnsOutcome.Failed, response.Outcome);
        Assert.Equal(1, mock.Counters.Requests);
    }

    [Theory]
    [InlineData(400, ApnsReasons.IdleTimeout)]
    [InlineData(403, ApnsReasons.UnrelatedKeyIdInToken)]
    public async Task ConnectionRejectionMovesTheRequestToAFreshConnectionWithTheSameApnsId(int status, string reason)
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.ConnectionsPerEndpoint = 1);
        var warmUp = await client.SendAsync(TestNotifications.For());
        Assert.True(warmUp.IsAccepted);
        var firstConnection = Assert.Single(mock.Notifications).ConnectionId;
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(status, reason).Times(1));

        var response = await client.SendAsync(notification);

        Assert.True(response.IsAccepted);
        Assert.Equal(notification.ApnsId, response.ApnsId);
        var delivered = Assert.Single(mock.NotificationsFor(notification.DeviceToken));
        Assert.Equal(notification.ApnsId.ToString("D"), delivered.ApnsId);
        Assert.NotEqual(firstConnection, delivered.ConnectionId);
        Assert.Equal(1, mock.Counters.RejectedFor(reason));
        Assert.Equal(3, mock.Counters.Requests);
        Assert.Equal(2, mock.Counters.ConnectionsOpened);
    }

    [Fact]
    public async Task ShutdownIsRetryLaterAndLaterSendsUseAFreshConnection()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.ConnectionsPerEndpoint = 1);
        Assert.True((await client.SendAsync(TestNotifications.For())).IsAccepted);
        var firstConnection = Assert.Single(mock.Notifications).ConnectionId;
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.Reject(503, "Shutdown"));

        var response = await client.SendAsync(notification);
        var next = TestNotifications.For();
        var after = await client.SendAsync(next);

        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(1, mock.Counters.RejectedFor("Shutdown"));
        Assert.True(after.IsAccepted);
        Assert.NotEqual(firstConnection, Assert.Single(mock.NotificationsFor(next.DeviceToken)).ConnectionId);
    }

    [Fact]
    public async Task IdleTimeoutOnTheFreshConnectionTooIsReturnedAfterOneMove()
    {
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock);
        var notification = TestNotifications.For();
        mock.Script(notification.DeviceToken, MockApnsBehavior.IdleTimeout);

        var response = await client.SendAsync(notification);

        Assert.Equal(ApnsRejectionReason.IdleTimeout, response.Reason);
        Assert.Equal(ApnsOutcome.RetryLater, response.Outcome);
        Assert.Equal(2, mock.Counters.Requests);
    }
}
