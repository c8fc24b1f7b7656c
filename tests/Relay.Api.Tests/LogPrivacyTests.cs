using System.Net.Http.Json;
using Relay.MockApns;

namespace Relay.Api.Tests;

/// <summary>The relay at Debug level, driven through every path; its logs must hold none of the secrets it saw.</summary>
public sealed class VerboseRelayFactory : RelayFactory
{
    protected override string MinimumLogLevel => "Debug";
}

public sealed class LogPrivacyTests(VerboseRelayFactory relay) : IClassFixture<VerboseRelayFactory>
{
    [Fact]
    public async Task LogsHoldNoCiphertextDeviceTokenBearerTokenProviderTokenSignatureOrKey()
    {
        var secrets = new List<string> { relay.SigningKey };
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        secrets.Add(Convert.ToBase64String(caller.Key.PublicKey.Export(NSec.Cryptography.KeyBlobFormat.RawPublicKey)));
        secrets.Add(caller.Client.DefaultRequestHeaders.Authorization!.Parameter!);
        secrets.Add(recipient.Client.DefaultRequestHeaders.Authorization!.Parameter!);

        // A failed sign-in, and a successful one whose challenge and signature we keep.
        var challenge = await caller.GetChallengeAsync();
        var wrong = recipient.Sign(challenge.Challenge);
        await caller.RedeemAsync(challenge.Challenge, wrong);
        var second = await caller.GetChallengeAsync();
        var signature = caller.Sign(second.Challenge);
        var signedIn = await caller.RedeemAsync(second.Challenge, signature);
        secrets.AddRange([wrong, signature, (await signedIn.ReadJsonAsync()).GetProperty("accessToken").GetString()!]);

        var tokens = new List<string>();
        foreach (var (topic, environment) in new[] { (RelayFactory.ChatTopic, "production"), (RelayFactory.ChatTopic, "sandbox"), (RelayFactory.OtherTopic, "production") })
        {
            tokens.Add((await recipient.RegisterDeviceAsync(topic, environment)).Token);
        }

        var dead = tokens[0];
        relay.Production.Script(dead, MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddMinutes(1)));
        relay.Sandbox.Script(tokens[1], MockApnsBehavior.InternalServerError);
        relay.Production.Script(tokens[2], MockApnsBehavior.Reject(400, "TopicDisallowed"));
        await recipient.ListDevicesAsync();

        for (var i = 0; i < 3; i++)
        {
            var ciphertext = Json.NewCiphertext(300 + i);
            secrets.Add(ciphertext);
            await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext, collapseId = "c" + i });
        }

        // Bad input that carries a secret-looking value must not echo it into logs either.
        var badToken = tokens[0] + "zz";
        await caller.Client.PostAsJsonAsync("/v1/devices", new { token = badToken, topic = RelayFactory.ChatTopic, environment = "production" });
        var badCiphertext = Json.NewCiphertext(90) + " ";
        await caller.Client.PostAsJsonAsync("/v1/messages", new { to = new[] { recipient.AccountId }, ciphertext = badCiphertext });
        secrets.Add(badCiphertext.Trim());

        // The provider tokens the relay sent to APNs.
        secrets.AddRange(relay.Production.Notifications.Concat(relay.Sandbox.Notifications).Select(n => n.ProviderToken).Distinct());
        foreach (var token in tokens)
        {
            secrets.Add(token);
            secrets.Add(token.ToUpperInvariant());
            secrets.Add(token[..16]);
        }

        var logs = relay.Logs.Text();
        Assert.NotEmpty(relay.Logs.Events);
        Assert.Contains("invalidated", logs, StringComparison.Ordinal);
        foreach (var secret in secrets)
        {
            Assert.False(logs.Contains(secret, StringComparison.Ordinal), $"The logs hold a secret: {secret[..Math.Min(12, secret.Length)]}…");
        }
    }
}
