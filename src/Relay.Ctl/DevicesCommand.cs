using System.CommandLine;
using Microsoft.EntityFrameworkCore;
using Relay.Data;
using Relay.Apns;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl devices list --account &lt;id&gt;</c>: an account's devices, invalidated ones included. A token shows
/// only its first 8 hex digits, as in the relay's logs and API.
/// </summary>
internal static class DevicesCommand
{
    private const int TokenPrefixLength = 8;

    private static readonly string[] Headers = ["DEVICE", "TOPIC", "ENVIRONMENT", "TOKEN", "REGISTERED", "LAST SUCCESS", "STATUS"];

    public static Command Create(CtlConsole console)
    {
        var list = new Command("list", "Lists an account's devices: id, topic, environment, token prefix, registration, last success, invalidation.");
        var account = new Option<Guid>("--account") { Description = "The account id.", Required = true };
        var json = new Option<bool>("--json") { Description = "Write the devices as JSON." };
        list.Options.Add(account);
        list.Options.Add(json);
        var settings = new SettingsOptions(list, apns: false);
        list.SetAction(async (parse, cancellationToken) =>
        {
            await using var db = await RelayDatabase.OpenAsync(settings.Read(parse, console), cancellationToken);
            return await ListAsync(console, db, parse.GetValue(account), parse.GetValue(json), cancellationToken);
        });

        return new Command("devices", "Inspects registered devices.") { list };
    }

    private static async Task<int> ListAsync(CtlConsole console, RelayDbContext db, Guid accountId, bool json, CancellationToken cancellationToken)
    {
        if (!await db.Accounts.AnyAsync(a => a.Id == accountId, cancellationToken))
        {
            throw new CtlException($"no account {accountId}");
        }

        // The prefix is cut in SQL: a whole token never leaves the database.
        var devices = await db.Devices.AsNoTracking()
            .Where(d => d.AccountId == accountId)
            .OrderBy(d => d.RegisteredAt)
            .Select(d => new DeviceRow(
                d.Id, d.Topic, d.Environment.ToText(), d.Token.Substring(0, TokenPrefixLength),
                d.RegisteredAt, d.LastSuccessAt, d.InvalidatedAt, d.InvalidReason))
            .ToListAsync(cancellationToken);

        if (json)
        {
            Text.WriteJson(console.Out, devices);
            return RelayCtl.Success;
        }

        var active = devices.Count(d => d.InvalidatedAt is null);
        console.Out.WriteLine($"account {accountId}: {devices.Count} device(s), {active} active");
        if (devices.Count == 0)
        {
            return RelayCtl.Success;
        }

        var rows = new List<string[]> { Headers };
        rows.AddRange(devices.Select(d => new[]
        {
            d.DeviceId.ToString(), d.Topic, d.Environment, d.TokenPrefix + "…", Text.Time(d.RegisteredAt), Text.Time(d.LastSuccessAt),
            d.InvalidatedAt is { } at ? $"invalidated {Text.Time(at)} ({d.InvalidReason})" : "active",
        }));
        Text.Table(console.Out, rows);
        return RelayCtl.Success;
    }

    private sealed record DeviceRow(
        Guid DeviceId, string Topic, string Environment, string TokenPrefix,
        DateTimeOffset RegisteredAt, DateTimeOffset? LastSuccessAt, DateTimeOffset? InvalidatedAt, string? InvalidReason);
}
