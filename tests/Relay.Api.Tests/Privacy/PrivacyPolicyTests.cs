using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Relay.Api.Tests.Delivery;

namespace Relay.Api.Tests.Privacy;

/// <summary>A relay that takes only 32- and 64-byte ciphertexts and one ttl (<c>Privacy:*</c>).</summary>
public sealed class PrivacyRelayFactory : RelayFactory
{
    public const int Ttl = 3600;

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
    [
        ("Privacy:CiphertextSizes:0", "32"),
        ("Privacy:CiphertextSizes:1", "64"),
        ("Privacy:TtlSeconds", Ttl.ToString(System.Globalization.CultureInfo.InvariantCulture)),
    ];
}

/// <summary>The size and ttl policies accept exactly what they list, and refuse the rest naming what is allowed.</summary>
public sealed class PrivacyPolicyTests(PrivacyRelayFactory relay) : IClassFixture<PrivacyRelayFactory>
{
    [Theory]
    [InlineData(32, null, HttpStatusCode.OK)]
    [InlineData(64, null, HttpStatusCode.OK)]
    [InlineData(64, PrivacyRelayFactory.Ttl, HttpStatusCode.OK)]
    [InlineData(31, null, HttpStatusCode.BadRequest)]
    [InlineData(33, null, HttpStatusCode.BadRequest)]
    [InlineData(48, null, HttpStatusCode.BadRequest)]
    [InlineData(1, null, HttpStatusCode.BadRequest)]
    [InlineData(32, 0, HttpStatusCode.BadRequest)]
    [InlineData(32, 60, HttpStatusCode.BadRequest)]
    [InlineData(32, PrivacyRelayFactory.Ttl + 1, HttpStatusCode.BadRequest)]
    public async Task OnlyTheListedSizesAndTtlAreAccepted(int bytes, int? ttlSeconds, HttpStatusCode expected)
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var messagesBefore = await relay.Database.CountAsync("messages");
        var ciphertext = Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes));
        object body = ttlSeconds is { } ttl
            ? new { to = new[] { recipient.AccountId }, ciphertext, ttlSeconds = ttl }
            : new { to = new[] { recipient.AccountId }, ciphertext };

        var started = DateTimeOffset.UtcNow;
        var (status, answer) = await sender.PostMessageAsync(body);

        Assert.Equal(expected, status);
        if (expected == HttpStatusCode.OK)
        {
            var state = await sender.Client.GetFromJsonAsync<JsonElement>($"/v1/messages/{answer.GetProperty("messageId").GetGuid()}");
            // An omitted ttl takes the configured one.
            Assert.InRange(state.GetProperty("expiresAt").GetDateTimeOffset() - started,
                TimeSpan.FromSeconds(PrivacyRelayFactory.Ttl - 5), TimeSpan.FromSeconds(PrivacyRelayFactory.Ttl + 5));
            Assert.Single(relay.Production.NotificationsFor(token));
            return;
        }

        Assert.False(string.IsNullOrEmpty(answer.GetProperty("detail").GetString()));
        if (ttlSeconds is null || ttlSeconds == PrivacyRelayFactory.Ttl)
        {
            Assert.Equal("Ciphertext size not allowed", answer.GetProperty("title").GetString());
            Assert.Equal([32, 64], answer.GetProperty("allowedCiphertextSizes").EnumerateArray().Select(e => e.GetInt32()));
        }
        else
        {
            Assert.Equal("ttlSeconds not allowed", answer.GetProperty("title").GetString());
            Assert.Equal(PrivacyRelayFactory.Ttl, answer.GetProperty("allowedTtlSeconds").GetInt32());
        }

        Assert.Equal(messagesBefore, await relay.Database.CountAsync("messages"));
        Assert.Empty(relay.Production.NotificationsFor(token));
    }
}
