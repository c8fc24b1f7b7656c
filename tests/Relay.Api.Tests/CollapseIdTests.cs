using System.Net;
using System.Net.Http.Json;

namespace Relay.Api.Tests;

/// <summary>collapseId is 1 to 64 visible ASCII characters, as an HTTP/2 header can carry it unaltered.</summary>
public sealed class CollapseIdTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    public static TheoryData<string> Invalid() => ["é", "a\r\nb", "a\nb", "\0", " ", "a b", "\t", "\u007f", new string('c', 65), "€uro", ""];

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task CollapseIdOutsideVisibleAsciiIs400AndNothingIsPushed(string collapseId)
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await recipient.RegisterDeviceAsync();
        var sentBefore = relay.Production.Counters.Accepted;
        var messagesBefore = await relay.Database.CountAsync("messages");

        var response = await sender.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(40), collapseId });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await JsonRequestTests.AssertProblemAsync(response);

        // Keyed by the body's own (camelCase) name.
        Assert.True(problem.GetProperty("errors").EnumerateObject().Any(e => e.Name == "collapseId"), problem.ToString());
        Assert.Equal(messagesBefore, await relay.Database.CountAsync("messages"));
        Assert.Equal(sentBefore, relay.Production.Counters.Accepted);
    }

    [Fact]
    public async Task SixtyFourVisibleCharactersReachApnsUnaltered()
    {
        var sender = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, token) = await recipient.RegisterDeviceAsync();
        var collapseId = new string([.. Enumerable.Range(0x21, 64).Select(c => (char)c)]);

        var message = await sender.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext(40), collapseId });

        Assert.Equal("sent", message.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Equal(collapseId, relay.Production.Notifications.Single(n => n.DeviceToken == token).CollapseId);
    }
}
