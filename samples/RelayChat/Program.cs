using Relay.Client;
using RelayChat;

// relaychat --relay http://127.0.0.1:5080 --name alice [--state-dir .] [--topic com.example.chat]
//           [--environment sandbox|production] [--ciphertext-sizes 512,1024]
var settings = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 0; i + 1 < args.Length; i += 2)
{
    settings[args[i]] = args[i + 1];
}

if (args.Length % 2 != 0 || !settings.TryGetValue("--relay", out var relay) || !Uri.TryCreate(relay, UriKind.Absolute, out var relayUri)
    || !settings.TryGetValue("--name", out var name) || name.Length == 0 || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
{
    await Console.Error.WriteLineAsync(
        "usage: relaychat --relay <url> --name <name> [--state-dir <dir>] [--topic <bundle id>] [--environment sandbox|production] [--ciphertext-sizes <n,n,...>]");
    return 2;
}

var options = new ChatOptions(
    relayUri,
    name,
    settings.GetValueOrDefault("--state-dir", "."),
    settings.GetValueOrDefault("--topic", "com.example.chat"),
    settings.GetValueOrDefault("--environment", "sandbox") == "production" ? ApnsEnvironment.Production : ApnsEnvironment.Sandbox,
    settings.TryGetValue("--ciphertext-sizes", out var sizes) ? [.. sizes.Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))] : null);

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

await using var session = new ChatSession(options, Console.Out);
try
{
    await session.StartAsync(stop.Token);
    while (await Console.In.ReadLineAsync(stop.Token) is { } line && await session.HandleLineAsync(line, stop.Token))
    {
    }
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}
catch (Exception e) when (e is RelayApiException or HttpRequestException)
{
    await Console.Error.WriteLineAsync($"relaychat: {e.Message}");
    return 1;
}

return 0;
