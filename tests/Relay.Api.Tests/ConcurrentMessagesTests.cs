using System.Net;
using System.Net.Http.Json;

namespace Relay.Api.Tests;

/// <summary>Recipient lookups that run together (one query for many messages) still answer each message alone.</summary>
public sealed class ConcurrentMessagesTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task ConcurrentMessagesEachReachExactlyTheirOwnRecipientsDevices()
    {
        var caller = await relay.CreateAccountAsync();
        var recipients = new List<(TestAccount Account, HashSet<Guid> Devices)>();
        for (var i = 0; i < 12; i++)
        {
            var account = await relay.CreateAccountAsync();
            var devices = new HashSet<Guid>();
            for (var d = 0; d < i % 3; d++)
            {
                devices.Add((await account.RegisterDeviceAsync(environment: d == 0 ? "production" : "sandbox")).DeviceId);
            }

            recipients.Add((account, devices));
        }

        var unknown = Guid.NewGuid();
        var sends = Enumerable.Range(0, 60).Select(async n =>
        {
            var (account, devices) = recipients[n % recipients.Count];
            if (n % 10 == 9)
            {
                var refused = await caller.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { account.AccountId, unknown }, ciphertext = Json.NewCiphertext(64) });
                Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
                Assert.Contains(unknown.ToString(), await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                return;
            }

            var message = await caller.SendMessageAsync(new { to = new[] { account.AccountId }, ciphertext = Json.NewCiphertext(64) });
            var deliveries = message.GetProperty("deliveries").EnumerateArray().ToList();
            Assert.Equal(devices, deliveries.Select(d => d.GetProperty("deviceId").GetGuid()).ToHashSet());
            Assert.All(deliveries, d => Assert.Equal(account.AccountId, d.GetProperty("accountId").GetGuid()));
            Assert.All(deliveries, d => Assert.Equal("sent", d.GetProperty("status").GetString()));
        });

        await Task.WhenAll(sends);
    }
}
