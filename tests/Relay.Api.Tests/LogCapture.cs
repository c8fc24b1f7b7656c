using System.Collections.Concurrent;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace Relay.Api.Tests;

/// <summary>Every Serilog event the relay writes during the tests, as JSON lines (message, properties, exception).</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly ConcurrentQueue<LogEvent> _events = new();
    private static readonly JsonFormatter Formatter = new(renderMessage: true);

    private static readonly ConcurrentDictionary<string, bool> Secrets = new(StringComparer.Ordinal);

    /// <summary>
    /// Remembers a value no relay may ever log (a ciphertext, a device token, a bearer token, a signature, a key):
    /// every relay the tests start checks its logs against all of them when it stops.
    /// </summary>
    public static string Secret(string value)
    {
        Secrets.TryAdd(value, true);
        return value;
    }

    /// <summary>Fails when these logs hold any remembered secret (or a device token's first 16 hex digits).</summary>
    public void AssertHoldsNoSecret(IEnumerable<string> more) => AssertNoSecretIn(Text(), more);

    /// <summary>The same check over any text: the output of a relay run as a process.</summary>
    public static void AssertNoSecretIn(string text, IEnumerable<string> more)
    {
        foreach (var secret in Secrets.Keys.Concat(more))
        {
            var leaked = text.Contains(secret, StringComparison.Ordinal)
                || (IsHex(secret) && (text.Contains(secret[..16], StringComparison.Ordinal) || text.Contains(secret.ToUpperInvariant(), StringComparison.Ordinal)));
            if (leaked)
            {
                throw new InvalidOperationException($"A relay logged a secret beginning '{secret[..Math.Min(8, secret.Length)]}'.");
            }
        }
    }

    private static bool IsHex(string value) => value.Length >= 32 && value.All(char.IsAsciiHexDigit);

    public void Emit(LogEvent logEvent) => _events.Enqueue(logEvent);

    public IReadOnlyList<LogEvent> Events => [.. _events];

    public string Text()
    {
        using var writer = new StringWriter();
        foreach (var logEvent in _events)
        {
            Formatter.Format(logEvent, writer);
            writer.WriteLine(logEvent.Exception?.ToString());
        }

        return writer.ToString();
    }
}
