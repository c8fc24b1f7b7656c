using System.Text;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>No provider token, device token or ciphertext in the client's logs, whatever happens.</summary>
public sealed class LogPrivacyTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task LogsOfRejectionsTimeoutsAndResetsHoldNoTokenDeviceTokenOrCiphertext()
    {
        using var logs = new LogCapture();
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(
            mock,
            configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2),
            logger: logs.CreateLogger<ApnsClient>());
        var sent = new List<ApnsNotification>();
        var ciphertexts = new List<string>();

        async Task SendAsync(MockApnsBehavior? behavior)
        {
            var ciphertext = TestNotifications.NewCiphertext();
            ciphertexts.Add(ciphertext);
            var notification = new ApnsNotification
            {
                DeviceToken = TestNotifications.NewDeviceToken(),
                Topic = MockApnsFixture.Topic,
                CollapseId = "private-conversation",
                Payload = TestNotifications.Payload.Build(ciphertext, Guid.NewGuid()),
            };
            sent.Add(notification);
            if (behavior is not null)
            {
                mock.Script(notification.DeviceToken, behavior);
            }

            try
            {
                await client.SendAsync(notification);
            }
            catch (ApnsException)
            {
                // Timeouts and resets are what this test drives.
            }
        }

        await SendAsync(null);
        await SendAsync(MockApnsBehavior.BadDeviceToken);
        await SendAsync(MockApnsBehavior.Unregistered());
        await SendAsync(MockApnsBehavior.Reject(403, ApnsReasons.InvalidProviderToken));
        await SendAsync(MockApnsBehavior.Reject(400, ApnsReasons.TopicDisallowed));
        await SendAsync(MockApnsBehavior.Reject(429, ApnsReasons.TooManyProviderTokenUpdates));
        await SendAsync(MockApnsBehavior.ExpiredProviderToken);
        await SendAsync(MockApnsBehavior.IdleTimeout.Times(1));
        await SendAsync(MockApnsBehavior.ServiceUnavailable);
        await SendAsync(MockApnsBehavior.Delay(TimeSpan.FromSeconds(5)));
        await SendAsync(MockApnsBehavior.ResetConnection);
        await SendAsync(MockApnsBehavior.ResetStream(0x2));

        var text = logs.Text();
        Assert.Contains(logs.Entries, e => e.Level == Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.Contains(logs.Entries, e => e.Message.Contains("within", StringComparison.Ordinal));
        Assert.Contains(logs.Entries, e => e.Message.Contains("fresh connection", StringComparison.Ordinal));
        var providerTokens = mock.Notifications.Select(n => n.ProviderToken).Append(client.ProviderToken.Current).Distinct().ToArray();
        Assert.All(providerTokens, jwt =>
        {
            Assert.DoesNotContain(jwt, text, StringComparison.Ordinal);
            Assert.DoesNotContain(jwt.Split('.')[2], text, StringComparison.Ordinal);
        });
        Assert.All(sent, n =>
        {
            Assert.DoesNotContain(n.DeviceToken, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Encoding.UTF8.GetString(n.Payload.Span), text, StringComparison.Ordinal);
            Assert.DoesNotContain("private-conversation", text, StringComparison.Ordinal);
        });
        Assert.All(ciphertexts, c => Assert.DoesNotContain(c[..24], text, StringComparison.Ordinal));
        Assert.DoesNotContain("PRIVATE KEY", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExceptionsForSendsWithoutAnAnswerHoldNoTokenDeviceTokenOrCiphertext()
    {
        // Callers log these exceptions whole (message, inner exceptions, stack): they must be as clean as the logs.
        await using var mock = await apns.StartMockAsync();
        using var client = apns.CreateClient(mock, configure: o => o.RequestTimeout = TimeSpan.FromSeconds(2));
        var failures = new List<(ApnsNotification Notification, ApnsException Failure)>();
        foreach (var behavior in new[]
        {
            MockApnsBehavior.Delay(TimeSpan.FromSeconds(5)),
            MockApnsBehavior.ResetConnection,
            MockApnsBehavior.ResetStream(0x2),
            MockApnsBehavior.RefuseStream,
        })
        {
            var notification = TestNotifications.For();
            mock.Script(notification.DeviceToken, behavior);
            failures.Add((notification, await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(notification))));
        }

        var jwt = client.ProviderToken.Current;
        Assert.All(failures, f =>
        {
            var text = f.Failure.ToString();
            Assert.DoesNotContain(f.Notification.DeviceToken, text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(jwt.Split('.')[2], text, StringComparison.Ordinal);
            Assert.DoesNotContain(Encoding.UTF8.GetString(f.Notification.Payload.Span)[..60], text, StringComparison.Ordinal);
        });
    }
}
