using System.Net;
using System.Net.Http.Json;
using NSec.Cryptography;
using Serilog.Events;

namespace Relay.Api.Tests;

/// <summary>An Error line means something is wrong: neither a fresh database nor a handled race writes one.</summary>
public sealed class ErrorLogTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    [Fact]
    public async Task FreshDatabaseStartAndConcurrentAccountCreationLogNoError()
    {
        // The factory migrated a fresh, empty database when it started.
        Assert.Equal(HttpStatusCode.OK, (await relay.CreateRelayClient().GetAsync("/health/ready")).StatusCode);

        using var client = relay.CreateRelayClient();
        for (var round = 0; round < 10; round++)
        {
            var identityKey = Convert.ToBase64String(Key.Create(SignatureAlgorithm.Ed25519).PublicKey.Export(KeyBlobFormat.RawPublicKey));
            var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.PostAsJsonAsync("/v1/accounts", new { identityKey })));
            Assert.Single(answers, a => a.StatusCode == HttpStatusCode.Created);
            Assert.All(answers, a => Assert.True(a.IsSuccessStatusCode));
            var ids = await Task.WhenAll(answers.Select(async a => (await a.ReadJsonAsync()).GetProperty("accountId").GetGuid()));
            Assert.Single(ids.Distinct());
        }

        var errors = relay.Logs.Events.Where(e => e.Level >= LogEventLevel.Error).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors.Select(e => $"{e.Properties.GetValueOrDefault("SourceContext")}: {e.RenderMessage()}")));
    }
}
