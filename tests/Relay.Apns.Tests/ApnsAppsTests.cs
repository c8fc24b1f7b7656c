using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Relay.Apns.Tests;

/// <summary><c>Apns:Apps</c>: the apps an operator configures, their fallback alerts, and the checks on them.</summary>
public sealed class ApnsAppsTests
{
    [Fact]
    public void AppsBindFromTheApnsSectionWithTheirFallbackAlerts()
    {
        var apps = Bind(new()
        {
            ["Apns:Apps:0:Topic"] = "com.example.chat",
            ["Apns:Apps:1:Topic"] = "com.example.work",
            ["Apns:Apps:1:Alert:Title"] = "",
            ["Apns:Apps:1:Alert:LocKey"] = "NEW_MESSAGE",
            ["Apns:Apps:1:Sound"] = "",
        });

        Assert.Empty(apps.Validate());
        var chat = apps.Find("com.example.chat");
        var work = apps.Find("com.example.work");
        Assert.NotNull(chat);
        Assert.NotNull(work);
        Assert.Null(apps.Find("com.example.CHAT"));
        var chatAps = Aps(chat.Payload);
        Assert.Equal(ApnsPayload.DefaultTitle, chatAps.GetProperty("alert").GetProperty("title").GetString());
        Assert.Equal("default", chatAps.GetProperty("sound").GetString());
        var workAps = Aps(work.Payload);
        Assert.Equal("NEW_MESSAGE", workAps.GetProperty("alert").GetProperty("loc-key").GetString());
        Assert.False(workAps.TryGetProperty("sound", out _));
    }

    [Fact]
    public void MaxCiphertextLengthIsAMultipleOfFourThatFitsEveryApp()
    {
        var apps = Bind(new()
        {
            ["Apns:Apps:0:Topic"] = "com.example.chat",
            ["Apns:Apps:1:Topic"] = "com.example.long",
            ["Apns:Apps:1:Alert:Title"] = "Un nouveau message chiffré est arrivé",
            ["Apns:Apps:1:Alert:Body"] = "Ouvrez l'application pour le lire — il ne peut être lu qu'ici.",
        });

        var max = apps.MaxCiphertextLength;

        Assert.Equal(0, max % 4);
        Assert.Equal(apps.Apps.Min(a => a.Payload.MaxCiphertextLength) / 4 * 4, max);
        Assert.All(apps.Apps, app => Assert.InRange(app.Payload.SizeFor(max), 1, ApnsHeaders.MaxPayloadBytes));
        Assert.Contains(apps.Apps, app => app.Payload.SizeFor(max + 4) > ApnsHeaders.MaxPayloadBytes);
    }

    [Fact]
    public void NoAppIsAFailureNamingApnsApps()
    {
        var apps = Bind([]);

        var failure = Assert.Single(apps.Validate());

        Assert.StartsWith("Apns:Apps is required", failure, StringComparison.Ordinal);
        Assert.Contains("Apns:Apps:0:Topic", failure, StringComparison.Ordinal);
        Assert.Equal(0, apps.MaxCiphertextLength);
    }

    [Fact]
    public void MissingRepeatedOrUnsendableTopicsAreFailuresNamingTheirKeys()
    {
        var apps = Bind(new()
        {
            ["Apns:Apps:0:Topic"] = "com.example.chat",
            ["Apns:Apps:1:Alert:Title"] = "No topic",
            ["Apns:Apps:2:Topic"] = "com.example.chat",
            ["Apns:Apps:3:Topic"] = "com.example.chät",
        });

        var failures = apps.Validate();

        Assert.Equal(3, failures.Count);
        Assert.StartsWith("Apns:Apps:1:Topic is required", failures[0], StringComparison.Ordinal);
        Assert.StartsWith("Apns:Apps:2:Topic repeats the topic com.example.chat of Apns:Apps:0:Topic", failures[1], StringComparison.Ordinal);
        Assert.StartsWith("Apns:Apps:3:Topic must be a bundle id", failures[2], StringComparison.Ordinal);
    }

    [Fact]
    public void AddApnsAppsFailsValidationWithTheSameMessages()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Apns:Apps:0:Alert:Title"] = "No topic" })
            .Build();
        using var services = new ServiceCollection().AddApnsApps(configuration.GetSection(ApnsOptions.SectionName)).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IOptions<ApnsApps>>().Value);

        Assert.Contains("Apns:Apps:0:Topic is required", failure.Message, StringComparison.Ordinal);
    }

    private static ApnsApps Bind(Dictionary<string, string?> settings)
    {
        var apps = new ApnsApps();
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(ApnsOptions.SectionName).Bind(apps);
        return apps;
    }

    private static JsonElement Aps(ApnsPayload payload) =>
        JsonDocument.Parse(payload.Build("AAAA", Guid.NewGuid())).RootElement.GetProperty("aps").Clone();
}
