using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Relay.Apns;

namespace Relay.Ctl;

/// <summary>The relay's <c>Apns</c> section: the client's options and the apps with their fallback alerts.</summary>
internal sealed class ApnsSettings
{
    private ApnsSettings(ApnsOptions options, ApnsApps apps)
    {
        Options = options;
        Apps = apps;
    }

    public ApnsOptions Options { get; }

    /// <summary>The apps (<c>Apns:Apps</c>), bound and checked by the same Relay.Apns type the relay uses.</summary>
    public ApnsApps Apps { get; }

    /// <summary>Binds the section as the relay does.</summary>
    /// <exception cref="CtlException">A value has the wrong type (a malformed URI or time span).</exception>
    public static ApnsSettings Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(ApnsOptions.SectionName);
        var options = new ApnsOptions();
        var apps = new ApnsApps();
        try
        {
            section.Bind(options);
            section.Bind(apps);
        }
        catch (InvalidOperationException e)
        {
            // The binder's message names the key, the type and the value: the Apns section holds paths and ids, no secret.
            throw new CtlException(e.Message);
        }

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

        failures.AddRange(Apps.Validate());
        return failures;
    }

    /// <summary>The payload for <paramref name="topic"/>: its app's alert, or the default one if it has no app.</summary>
    public ApnsPayload PayloadFor(string topic) =>
        Apps.Find(topic)?.Payload ?? new ApnsAppOptions { Topic = topic }.Payload;

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
}
