using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Relay.Apns.Tests;

/// <summary>
/// An <see cref="ILoggerProvider"/> that keeps every entry at every level: the formatted message, each structured
/// property and the exception, as text a test can search.
/// </summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> _entries = new();

    public IReadOnlyList<CapturedLog> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public ILogger<T> CreateLogger<T>()
    {
        var factory = LoggerFactory.Create(builder => builder.AddProvider(this).SetMinimumLevel(LogLevel.Trace));
        return factory.CreateLogger<T>();
    }

    /// <summary>Everything captured, one entry a line: level, category, message, properties, exception.</summary>
    public string Text() => string.Join('\n', _entries.Select(e => e.ToString()));

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLog> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            entries.Enqueue(new CapturedLog(LogLevel.None, category, $"scope {state}", Properties(state), null));
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new CapturedLog(logLevel, category, formatter(state, exception), Properties(state), exception?.ToString()));

        private static KeyValuePair<string, string?>[] Properties<TState>(TState state) =>
            state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.Select(p => KeyValuePair.Create(p.Key, Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture))).ToArray()
                : [];
    }
}

public sealed record CapturedLog(
    LogLevel Level,
    string Category,
    string Message,
    IReadOnlyList<KeyValuePair<string, string?>> Properties,
    string? Exception)
{
    public override string ToString()
    {
        var text = new StringBuilder().Append(Level).Append(' ').Append(Category).Append(": ").Append(Message);
        foreach (var (key, value) in Properties)
        {
            text.Append(" | ").Append(key).Append('=').Append(value);
        }

        return text.Append(Exception is null ? "" : " | " + Exception).ToString();
    }
}
