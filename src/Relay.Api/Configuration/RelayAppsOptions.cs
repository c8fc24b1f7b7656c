using System.ComponentModel.DataAnnotations;
using Relay.Apns;

namespace Relay.Api.Configuration;

/// <summary>The apps (<c>Apns:Apps</c>) the relay may push to, each with its generic fallback alert.</summary>
public sealed class RelayAppsOptions
{
    public List<AppOptions> Apps { get; set; } = [];

    private int? _maxCiphertextLength;

    /// <summary>The longest ciphertext (base64 characters, a multiple of 4) that fits the payload of every app.</summary>
    public int MaxCiphertextLength => _maxCiphertextLength ??= Apps.Min(a => a.Payload.MaxCiphertextLength) / 4 * 4;

    /// <summary>The app configured for <paramref name="topic"/>, or <see langword="null"/>.</summary>
    public AppOptions? Find(string topic) => Apps.Find(a => string.Equals(a.Topic, topic, StringComparison.Ordinal));
}

public sealed class AppOptions
{
    [Required]
    public string Topic { get; set; } = "";

    public AlertOptions Alert { get; set; } = new();

    public string? Sound { get; set; } = "default";

    private ApnsPayload? _payload;

    /// <summary>The fixed part of this app's payloads, built once.</summary>
    public ApnsPayload Payload => _payload ??= ApnsPayload.ForFallbackAlert(Alert.Title, Alert.Body, Alert.LocKey, Sound);
}

public sealed class AlertOptions
{
    public string? Title { get; set; } = ApnsPayload.DefaultTitle;

    public string? Body { get; set; }

    public string? LocKey { get; set; }
}
