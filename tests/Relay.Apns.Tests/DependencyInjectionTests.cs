using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Relay.Apns.Tests;

/// <summary>AddApnsClient: options are checked when the host starts, and failures name the setting.</summary>
public sealed class DependencyInjectionTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    [Fact]
    public async Task MissingKeyIdFailsTheStartNamingApnsKeyId()
    {
        using var host = BuildHost(new()
        {
            ["Apns:TeamId"] = MockApnsFixture.TeamId,
            ["Apns:PrivateKeyPath"] = apns.KeyPath,
        });

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Apns:KeyId", failure.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Apns:PrivateKeyPath", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingKeyFileFailsTheStartNamingApnsPrivateKeyPath()
    {
        var missing = Path.Combine(apns.Folder, "no-such-key.p8");
        using var host = BuildHost(new()
        {
            ["Apns:TeamId"] = MockApnsFixture.TeamId,
            ["Apns:KeyId"] = MockApnsFixture.KeyId,
            ["Apns:PrivateKeyPath"] = missing,
        });

        var failure = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("Apns:PrivateKeyPath", failure.Message, StringComparison.Ordinal);
        Assert.Contains(missing, failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ValidConfigurationStartsAndResolvesOneSharedClient()
    {
        using var host = BuildHost(new()
        {
            ["Apns:TeamId"] = MockApnsFixture.TeamId,
            ["Apns:KeyId"] = MockApnsFixture.KeyId,
            ["Apns:PrivateKeyPath"] = apns.KeyPath,
            ["Apns:TrustedCaPath"] = apns.CaPath,
            ["Apns:ConnectionsPerEndpoint"] = "3",
        });

        await host.StartAsync();

        var client = host.Services.GetRequiredService<ApnsClient>();
        Assert.Same(client, host.Services.GetRequiredService<ApnsClient>());
        Assert.Equal(3, host.Services.GetRequiredService<IOptions<ApnsOptions>>().Value.ConnectionsPerEndpoint);
        await host.StopAsync();
    }

    private static IHost BuildHost(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddApnsClient(builder.Configuration.GetSection(ApnsOptions.SectionName));
        return builder.Build();
    }
}
