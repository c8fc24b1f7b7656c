using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using Relay.Data;
using Relay.Apns;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl stats</c>: accounts, devices by topic and environment, active and invalidated (by reason), and how
/// recently APNs last accepted a push for them.
/// </summary>
internal static class StatsCommand
{
    public static Command Create(CtlConsole console)
    {
        var command = new Command("stats", "Prints delivery statistics from PostgreSQL.");
        var json = new Option<bool>("--json") { Description = "Write the statistics as JSON." };
        command.Options.Add(json);
        var settings = new SettingsOptions(command, apns: false);
        command.SetAction(async (parse, cancellationToken) =>
        {
            await using var db = await RelayDatabase.OpenAsync(settings.Read(parse, console), cancellationToken);
            var stats = await ReadAsync(db, DateTimeOffset.UtcNow, cancellationToken);
            if (parse.GetValue(json))
            {
                Text.WriteJson(console.Out, stats);
            }
            else
            {
                Write(console.Out, stats);
            }

            return RelayCtl.Success;
        });
        return command;
    }

    private static async Task<Stats> ReadAsync(RelayDbContext db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var accounts = await db.Accounts.LongCountAsync(cancellationToken);
        var byTopic = await db.Devices
            .GroupBy(d => new { d.Topic, d.Environment })
            .Select(g => new { g.Key.Topic, g.Key.Environment, Total = g.LongCount(), Active = g.LongCount(d => d.InvalidatedAt == null) })
            .ToListAsync(cancellationToken);
        var byReason = await db.Devices
            .Where(d => d.InvalidatedAt != null)
            .GroupBy(d => d.InvalidReason)
            .Select(g => new { Reason = g.Key, Count = g.LongCount() })
            .ToListAsync(cancellationToken);
        var dayAgo = now.AddDays(-1);
        var weekAgo = now.AddDays(-7);
        var day = await db.Devices.LongCountAsync(d => d.LastSuccessAt >= dayAgo, cancellationToken);
        var week = await db.Devices.LongCountAsync(d => d.LastSuccessAt >= weekAgo, cancellationToken);
        var never = await db.Devices.LongCountAsync(d => d.LastSuccessAt == null, cancellationToken);

        var total = byTopic.Sum(t => t.Total);
        var active = byTopic.Sum(t => t.Active);
        return new Stats(
            accounts,
            new DeviceCounts(total, active, total - active),
            [.. byTopic
                .OrderBy(t => t.Topic, StringComparer.Ordinal).ThenBy(t => t.Environment)
                .Select(t => new TopicCounts(t.Topic, t.Environment.ToText(), t.Total, t.Active))],
            byReason.OrderByDescending(r => r.Count).ToDictionary(r => r.Reason ?? "(none)", r => r.Count, StringComparer.Ordinal),
            new SuccessCounts(day, week, never));
    }

    private static void Write(TextWriter output, Stats stats)
    {
        Text.Table(output,
        [
            ["accounts", Text.Number(stats.Accounts)],
            ["devices", $"{Text.Number(stats.Devices.Total)} ({Text.Number(stats.Devices.Active)} active, {Text.Number(stats.Devices.Invalidated)} invalidated)"],
        ]);

        output.WriteLine("devices by topic and environment:");
        Text.Table(output, [.. stats.ByTopic.Select(t => new[] { t.Topic, t.Environment, Text.Number(t.Total), $"({Text.Number(t.Active)} active)" })], "  ");
        output.WriteLine("invalidated devices by reason:");
        if (stats.InvalidatedByReason.Count == 0)
        {
            output.WriteLine("  none");
        }

        Text.Table(output, [.. stats.InvalidatedByReason.Select(r => new[] { r.Key, Text.Number(r.Value) })], "  ");
        output.WriteLine("devices by last accepted push:");
        Text.Table(output,
        [
            ["within 24 h", Text.Number(stats.LastSuccess.Within24Hours)],
            ["within 7 days", Text.Number(stats.LastSuccess.Within7Days)],
            ["never", Text.Number(stats.LastSuccess.Never)],
        ], "  ");
    }

    private sealed record Stats(
        long Accounts, DeviceCounts Devices, List<TopicCounts> ByTopic, Dictionary<string, long> InvalidatedByReason, SuccessCounts LastSuccess);

    private sealed record DeviceCounts(long Total, long Active, long Invalidated);

    private sealed record TopicCounts(string Topic, string Environment, long Total, long Active);

    private sealed record SuccessCounts(long Within24Hours, long Within7Days, long Never);
}
