using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Relay.Apns;
using Relay.Data;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl check</c>: one line per check, ok or FAIL — PostgreSQL answers, migrations are current, the <c>.p8</c>
/// key signs provider tokens, the apps are configured, and both APNs endpoints answer over HTTP/2 with that token.
/// </summary>
internal sealed class CheckCommand
{
    // No device has this token: real APNs answers 400 BadDeviceToken, after TLS, HTTP/2 and the provider token passed.
    private static readonly string ProbeToken = new('0', 64);

    private readonly CtlConsole _console;
    private readonly List<Check> _checks = [];

    private CheckCommand(CtlConsole console) => _console = console;

    public static Command Create(CtlConsole console)
    {
        var command = new Command("check", "Checks configuration and connectivity: PostgreSQL, migrations, the .p8 key, the apps and both APNs endpoints. Exit 0 when every check is ok.");
        var json = new Option<bool>("--json") { Description = "Write the checks as JSON." };
        command.Options.Add(json);
        var settings = new SettingsOptions(command, apns: true);
        command.SetAction((parse, cancellationToken) =>
            new CheckCommand(console).RunAsync(settings.Read(parse, console), parse.GetValue(json), cancellationToken));
        return command;
    }

    private async Task<int> RunAsync(IConfiguration configuration, bool json, CancellationToken cancellationToken)
    {
        await CheckDatabaseAsync(configuration, cancellationToken);
        await CheckApnsAsync(configuration, cancellationToken);

        if (json)
        {
            Text.WriteJson(_console.Out, new
            {
                ok = _checks.TrueForAll(c => c.Status != Status.Fail),
                checks = _checks.ConvertAll(c => new { name = c.Name, status = c.Status.ToString().ToLowerInvariant(), detail = c.Detail }),
            });
        }
        else
        {
            Text.Table(_console.Out, _checks.ConvertAll(c => new[] { StatusText(c.Status), c.Name, c.Detail }));
            var failed = _checks.Count(c => c.Status == Status.Fail);
            var skipped = _checks.Count(c => c.Status == Status.Skip);
            _console.Out.WriteLine(failed == 0 && skipped == 0
                ? $"check: all {_checks.Count} ok"
                : $"check: {failed} failed, {skipped} skipped, {_checks.Count - failed - skipped} ok");
        }

        foreach (var check in _checks.Where(c => c.Status == Status.Fail))
        {
            _console.Fail(check.Detail);
        }

        return _checks.Exists(c => c.Status == Status.Fail) ? RelayCtl.Failure : RelayCtl.Success;
    }

    private async Task CheckDatabaseAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        RelayDbContext db;
        string target;
        try
        {
            var connectionString = RelayDatabase.ConnectionString(configuration);
            target = RelayDatabase.Target(connectionString);
            db = await RelayDatabase.OpenAsync(connectionString, cancellationToken);
        }
        catch (CtlException e)
        {
            Add("postgresql", Status.Fail, e.Message);
            Add("migrations", Status.Skip, "needs PostgreSQL");
            return;
        }

        await using (db)
        {
            try
            {
                var connection = (NpgsqlConnection)db.Database.GetDbConnection();
                await using (var select = new NpgsqlCommand("SELECT 1", connection))
                {
                    await select.ExecuteScalarAsync(cancellationToken);
                }

                Add("postgresql", Status.Ok, $"{target} answers SELECT 1 (PostgreSQL {connection.PostgreSqlVersion})");
            }
            catch (NpgsqlException e)
            {
                Add("postgresql", Status.Fail, RelayDatabase.DescribeQueryFailure(e));
                Add("migrations", Status.Skip, "needs PostgreSQL");
                return;
            }

            try
            {
                var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
                var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken)).ToList();
                var unknown = applied.Except(db.Database.GetMigrations(), StringComparer.Ordinal).ToList();
                if (pending.Count > 0)
                {
                    Add("migrations", Status.Fail,
                        $"{pending.Count} migration(s) pending in {target}: {string.Join(", ", pending)}; start the relay once with Database:MigrateOnStartup=true or run dotnet ef database update");
                }
                else
                {
                    var newer = unknown.Count == 0 ? "" : $"; {unknown.Count} applied migration(s) newer than this relayctl: {string.Join(", ", unknown)}";
                    Add("migrations", Status.Ok, $"{applied.Count} applied, none pending (latest {applied.LastOrDefault() ?? "none"}){newer}");
                }
            }
            catch (NpgsqlException e)
            {
                Add("migrations", Status.Fail, RelayDatabase.DescribeQueryFailure(e));
            }
        }
    }

    private async Task CheckApnsAsync(IConfiguration configuration, CancellationToken cancellationToken)
    {
        ApnsSettings settings;
        try
        {
            settings = ApnsSettings.Read(configuration);
        }
        catch (CtlException e)
        {
            Add("apns-config", Status.Fail, e.Message);
            Add("production", Status.Skip, "needs valid APNs settings");
            Add("sandbox", Status.Skip, "needs valid APNs settings");
            return;
        }

        // The relay's own validation, split by the check each failure belongs to.
        var options = settings.Options;
        var failures = settings.Validate();
        var keyFailures = Take(failures, "Apns:TeamId", "Apns:KeyId", "Apns:PrivateKeyPath");
        var appFailures = Take(failures, "Apns:Apps");
        var endpointFailures = Take(failures, "Apns:ProductionEndpoint", "Apns:SandboxEndpoint", "Apns:TrustedCaPath");

        var token = keyFailures.Count == 0 ? Sign(options) : null;
        if (keyFailures.Count > 0)
        {
            Add("apns-key", Status.Fail, string.Join(" ", keyFailures));
        }

        Add("apns-apps", appFailures.Count == 0 ? Status.Ok : Status.Fail,
            appFailures.Count == 0 ? string.Join(", ", settings.Apps.Apps.Select(a => a.Topic)) : string.Join(" ", appFailures));
        if (failures.Count > 0)
        {
            Add("apns-options", Status.Fail, string.Join(" ", failures));
        }

        if (endpointFailures.Count > 0)
        {
            Add("apns-endpoints", Status.Fail, string.Join(" ", endpointFailures));
        }

        var problem = token is null ? "needs a signing key (Apns:PrivateKeyPath)"
            : appFailures.Count > 0 ? "needs a topic (Apns:Apps)"
            : endpointFailures.Count > 0 || failures.Count > 0 ? "needs valid APNs settings"
            : null;
        if (token is null || problem is not null)
        {
            token?.Dispose();
            Add("production", Status.Skip, problem!);
            Add("sandbox", Status.Skip, problem!);
            return;
        }

        // One connection per environment is all a probe needs. The client owns the token from here on.
        options.ConnectionsPerEndpoint = 1;
        using var client = new ApnsClient(options, token, TimeProvider.System);
        var app = settings.Apps.Apps[0];
        var payload = app.Payload.Build(Convert.ToBase64String(RandomNumberGenerator.GetBytes(16)), Guid.NewGuid());
        var production = ProbeAsync(client, settings, ApnsEnvironment.Production, app.Topic, payload, cancellationToken);
        var sandbox = ProbeAsync(client, settings, ApnsEnvironment.Sandbox, app.Topic, payload, cancellationToken);
        _checks.Add(await production);
        _checks.Add(await sandbox);
    }

    /// <summary>Signs a token with the key, which loaded; the token source is returned for the endpoint probes.</summary>
    private ApnsProviderToken? Sign(ApnsOptions options)
    {
        var token = ApnsProviderToken.FromFile(options.TeamId, options.KeyId, options.PrivateKeyPath, TimeProvider.System);
        if (token.CreateUncached().Split('.') is not [_, _, { Length: 86 }])
        {
            token.Dispose();
            Add("apns-key", Status.Fail, $"Apns:PrivateKeyPath: '{options.PrivateKeyPath}' produced a malformed ES256 signature.");
            return null;
        }

        Add("apns-key", Status.Ok, $"'{options.PrivateKeyPath}' signs ES256 provider tokens (team {options.TeamId}, key {options.KeyId})");
        return token;
    }

    /// <summary>Removes and returns the failures about these settings.</summary>
    private static List<string> Take(List<string> failures, params string[] keys)
    {
        var taken = failures.FindAll(f => keys.Any(k => f.StartsWith(k, StringComparison.Ordinal)));
        failures.RemoveAll(taken.Contains);
        return taken;
    }

    private static async Task<Check> ProbeAsync(
        ApnsClient client, ApnsSettings settings, ApnsEnvironment environment, string topic, byte[] payload, CancellationToken cancellationToken)
    {
        var name = environment.ToText();
        var endpoint = settings.EndpointText(environment);
        var notification = new ApnsNotification
        {
            DeviceToken = ProbeToken,
            Topic = topic,
            Environment = environment,
            Expiration = 0,
            Payload = payload,
        };

        ApnsResponse response;
        try
        {
            response = await client.SendAsync(notification, cancellationToken);
        }
        catch (ApnsException e)
        {
            return new Check(name, Status.Fail, $"APNs endpoint {endpoint} unreachable ({ApnsText.NoAnswer(e, settings.Options)})");
        }

        var answer = ApnsText.Answer(response);
        if (response.StatusCode == 403 || response.Outcome == ApnsOutcome.ConfigurationFault || response.StatusCode >= 500
            || response.Reason == ApnsRejectionReason.TooManyProviderTokenUpdates)
        {
            return new Check(name, Status.Fail, $"APNs endpoint {endpoint} answered {answer}: {ApnsText.Meaning(response, topic)}");
        }

        var meaning = response.IsAccepted
            ? "it accepted the all-zero probe token, which Apple's APNs never does (a mock?)"
            : "TLS, HTTP/2 and the provider token are accepted";
        return new Check(name, Status.Ok, $"{endpoint} answered {answer} over HTTP/2: {meaning}");
    }

    // A fixed width, so a line reads the same whether or not another check failed.
    private static string StatusText(Status status) => status == Status.Ok ? "ok  " : status.ToString().ToUpperInvariant();

    private void Add(string name, Status status, string detail) => _checks.Add(new Check(name, status, detail));

    private enum Status
    {
        Ok,
        Fail,
        Skip,
    }

    private sealed record Check(string Name, Status Status, string Detail);
}
