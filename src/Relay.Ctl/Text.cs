using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Relay.Ctl;

/// <summary>How relayctl writes tables, times and JSON.</summary>
internal static class Text
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static string Time(DateTimeOffset? time) =>
        time is { } t ? t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "never";

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Writes rows as left-aligned columns, two spaces apart.</summary>
    public static void Table(TextWriter output, IReadOnlyList<string[]> rows, string indent = "")
    {
        if (rows.Count == 0)
        {
            return;
        }

        var widths = new int[rows.Max(r => r.Length)];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        foreach (var row in rows)
        {
            var cells = row.Select((cell, i) => i == row.Length - 1 ? cell : cell.PadRight(widths[i]));
            output.WriteLine(indent + string.Join("  ", cells).TrimEnd());
        }
    }

    public static void WriteJson<T>(TextWriter output, T value) => output.WriteLine(JsonSerializer.Serialize(value, Json));
}
