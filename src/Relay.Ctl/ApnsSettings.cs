using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Relay.Apns;

namespace Relay.Ctl;

/// <summary>The relay's <c>Apns</c> section: the client's options and the apps with their fallback alerts.</summary>
internal sealed class ApnsSettings
{
    private ApnsSettings(ApnsOptions options, IReadOnlyList<App> apps)
    {
        Options = options;
        Apps = apps;
    }

    public ApnsOptions Options { get; }

    public IReadOnlyList<App> Apps { get; }

    /// <summary>Binds the section as the relay does.</summary>
    /// <exception cref="CtlException">A value has the wrong type (a malformed URI or time span).</exception>
    public static ApnsSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(ApnsOptions.SectionName);
        var options = new ApnsOptions();
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key, the type and the value: the Apns section holds paths and ids, no secret.
            throw new CtlException(e.Message);
        }

        var apps = section.GetSection("Apps").GetChildren()
            .Select(app => new App(app.Path, app["Topic"] ?? "", Payload(app)))
            .ToList();
        return new ApnsSettings(options, apps);
    }

    /// <summary>What is wrong with the settings, each naming its key (<c>Apns:KeyId</c>); empty when nothing is.</summary>
    public List<string> Validate()
    {
        var failures = new List<string>();
        var annotations = new List<ValidationResult>();
        if (!Validator.TryValidateObject(Options, new ValidationContext(Options), annotations, validateAllProperties: true))
        {
            failures.AddRange(annotations.Select(r => $"{ApnsOptions.SectionName}:{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"));
        }

        var result = new ApnsOptionsValidator().Validate(null, Options);
        if (result.Failed)
        {
            failures.AddRange(result.Failures);
        }

        failures.AddRange(AppFailures());
        return failures;
    }

    /// <summary>What is wrong with <c>Apns:Apps</c>, as the relay words it.</summary>
    private IEnumerable<string> AppFailures()
    {
        if (Apps.Count == 0)
        {
            yield return "Apns:Apps is required: at least one app, as Apns:Apps:0:Topic.";
        }

        foreach (var app in Apps.Where(a => string.IsNullOrWhiteSpace(a.Topic)))
        {
            yield return $"{app.Key}:Topic is required for every app.";
        }

        foreach (var topic in Apps.GroupBy(a => a.Topic, StringComparer.Ordinal).Where(g => g.Count() > 1))
        {
            yield return $"Apns:Apps lists the topic {topic.Key} twice.";
        }
    }

    /// <summary>The payload for <paramref name="topic"/>: its app's alert, or the default one if it has no app.</summary>
    public ApnsPayload PayloadFor(string topic) =>
        Apps.FirstOrDefault(a => string.Equals(a.Topic, topic, StringComparison.Ordinal))?.Payload ?? ApnsPayload.ForFallbackAlert(null, null, null, "default");

    /// <summary>A client on these settings. The settings must have passed <see cref="Validate"/>.</summary>
    public ApnsClient CreateClient()
    {
        var token = ApnsProviderToken.FromFile(Options.TeamId, Options.KeyId, Options.PrivateKeyPath, TimeProvider.System);
        try
        {
            return new ApnsClient(Options, token, TimeProvider.System);
        }
        catch
        {
            token.Dispose();
            throw;
        }
    }

    /// <summary>The endpoint of <paramref name="environment"/> without a trailing slash, as operators write it.</summary>
    public string EndpointText(ApnsEnvironment environment) =>
        (environment == ApnsEnvironment.Sandbox ? Options.SandboxEndpoint : Options.ProductionEndpoint).GetLeftPart(UriPartial.Authority);

    // The relay's rule, from Relay.Apns: the title falls back to "New message" unless the app sets some alert text.
    private static ApnsPayload Payload(IConfigurationSection app) =>
        ApnsPayload.ForFallbackAlert(app["Alert:Title"] ?? ApnsPayload.DefaultTitle, app["Alert:Body"], app["Alert:LocKey"], app["Sound"] ?? "default");

    /// <summary>One configured app: its key (<c>Apns:Apps:0</c>), topic and payload template.</summary>
    public sealed record App(string Key, string Topic, ApnsPayload Payload);
}
