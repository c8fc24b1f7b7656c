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

    /// <summary>All events of all relays the tests started.</summary>
    public static LogCapture Suite { get; } = new();

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
