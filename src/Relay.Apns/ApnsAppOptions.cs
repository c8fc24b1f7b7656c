namespace Relay.Apns;

/// <summary>
/// The apps the relay pushes to, bound from <c>Apns:Apps</c> (<c>Apns:Apps:0:Topic</c>, <c>Apns:Apps:0:Alert:Title</c>,
/// …), each with the fallback alert a device shows when its Notification Service Extension cannot decrypt in time.
/// Check it with <see cref="Validate"/> when the process starts.
/// </summary>
public sealed class ApnsApps
{
    private int? _maxCiphertextLength;

    /// <summary>The configured apps, in configuration order.</summary>
    public List<ApnsAppOptions> Apps { get; set; } = [];

    /// <summary>
    /// The longest ciphertext, in base64 characters and a multiple of 4, whose payload fits
    /// <see cref="ApnsHeaders.MaxPayloadBytes"/> for every app; 0 when no app is configured.
    /// </summary>
    public int MaxCiphertextLength => _maxCiphertextLength ??= Apps.Count == 0 ? 0 : Apps.Min(a => a.Payload.MaxCiphertextLength) / 4 * 4;

    /// <summary>The app whose topic is exactly <paramref name="topic"/>, or <see langword="null"/>.</summary>
    public ApnsAppOptions? Find(string topic) => Apps.Find(a => string.Equals(a.Topic, topic, StringComparison.Ordinal));

    /// <summary>
    /// What is wrong with the apps, one message per problem, each naming its key as <c>Apns:Apps:N:Topic</c>;
    /// empty when nothing is: at least one app, every app with a topic APNs can take, no topic twice.
    /// </summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if (Apps.Count == 0)
        {
            failures.Add($"{ApnsOptions.SectionName}:Apps is required: at least one app, as {Key(0)}.");
        }

        var firstIndexOf = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < Apps.Count; i++)
        {
            var topic = Apps[i].Topic;
            if (string.IsNullOrWhiteSpace(topic))
            {
                failures.Add($"{Key(i)} is required: the app's bundle id.");
            }
            else if (!ApnsHeaders.IsValidTopic(topic))
            {
                failures.Add($"{Key(i)} must be a bundle id of 1 to {ApnsHeaders.MaxTopicLength} visible ASCII characters.");
            }
            else if (firstIndexOf.TryGetValue(topic, out var first))
            {
                failures.Add($"{Key(i)} repeats the topic {topic} of {Key(first)}: each app is listed once.");
            }
            else
            {
                firstIndexOf[topic] = i;
            }
        }

        return failures;
    }

    private static string Key(int index) => $"{ApnsOptions.SectionName}:Apps:{index}:Topic";
}

/// <summary>One app of <see cref="ApnsApps"/>: its topic and the fallback alert of its notifications.</summary>
public sealed class ApnsAppOptions
{
    private ApnsPayload? _payload;

    /// <summary>The app's bundle id, sent as <c>apns-topic</c>.</summary>
    public string Topic { get; set; } = "";

    /// <summary>The fallback alert's text.</summary>
    public ApnsAlertOptions Alert { get; set; } = new();

    /// <summary><c>aps.sound</c>; empty or <see langword="null"/> for none.</summary>
    public string? Sound { get; set; } = "default";

    /// <summary>
    /// The fixed part of this app's payloads, built once from <see cref="Alert"/> and <see cref="Sound"/> (by
    /// <see cref="ApnsPayload.ForFallbackAlert"/>: an alert without any text gets <see cref="ApnsPayload.DefaultTitle"/>).
    /// </summary>
    public ApnsPayload Payload => _payload ??= ApnsPayload.ForFallbackAlert(Alert.Title, Alert.Body, Alert.LocKey, Sound);
}

/// <summary>
/// The fallback alert of an app (<c>Apns:Apps:N:Alert</c>), shown as is when the extension cannot replace it; see
/// <see href="https://developer.apple.com/documentation/usernotifications/generating-a-remote-notification">Generating a remote notification</see>.
/// </summary>
public sealed class ApnsAlertOptions
{
    /// <summary><c>aps.alert.title</c>; <see cref="ApnsPayload.DefaultTitle"/> unless configured.</summary>
    public string? Title { get; set; } = ApnsPayload.DefaultTitle;

    /// <summary><c>aps.alert.body</c>; none unless configured.</summary>
    public string? Body { get; set; }

    /// <summary><c>aps.alert.loc-key</c>: a key the app localizes instead; none unless configured.</summary>
    public string? LocKey { get; set; }
}
