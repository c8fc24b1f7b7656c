using System.Text.Json;
using Relay.Ctl;
using Relay.MockApns;

namespace Relay.Api.Tests;

/// <summary>
/// relayctl against the running test relay: its database, its key and both mock APNs endpoints. Most tests run the
/// tool in-process with the relay's settings as environment variables; one runs the built relayctl.dll as a process.
/// </summary>
public sealed class RelayCtlTests(RelayFactory relay) : IClassFixture<RelayFactory>
{
    private const string ClosedPort = "127.0.0.1:1";

    [Fact]
    public async Task CheckPassesAgainstTheRelaysDatabaseKeyAndBothEndpoints()
    {
        var run = await RunAsync("check");

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Errors);
        var checks = run.Lines.Where(l => !l.StartsWith("check:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["postgresql", "migrations", "apns-key", "apns-apps", "production", "sandbox"], checks.Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]));
        Assert.All(checks, line => Assert.StartsWith("ok ", line, StringComparison.Ordinal));
        Assert.Contains(relay.Production.BaseAddress.GetLeftPart(UriPartial.Authority) + " answered", run.Output, StringComparison.Ordinal);
        Assert.Contains(relay.Sandbox.BaseAddress.GetLeftPart(UriPartial.Authority) + " answered", run.Output, StringComparison.Ordinal);
        Assert.Equal("check: all 6 ok", run.Lines[^1]);
    }

    [Fact]
    public async Task CheckAsJsonReportsEveryCheckOk()
    {
        var run = await RunAsync("check", "--json");

        Assert.Equal(0, run.ExitCode);
        var report = JsonDocument.Parse(run.Output).RootElement;
        Assert.True(report.GetProperty("ok").GetBoolean());
        Assert.All(report.GetProperty("checks").EnumerateArray(), c => Assert.Equal("ok", c.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task CheckTakesBadDeviceTokenForTheProbeAsApnsReached()
    {
        // Apple's APNs answers the all-zero probe token so, once TLS, HTTP/2 and the provider token have passed.
        var probe = new string('0', 64);
        relay.Production.Script(probe, MockApnsBehavior.BadDeviceToken);
        relay.Sandbox.Script(probe, MockApnsBehavior.BadDeviceToken);
        try
        {
            var run = await RunAsync("check");

            Assert.Equal(0, run.ExitCode);
            Assert.Contains(run.Lines, l => l.StartsWith("ok    production", StringComparison.Ordinal)
                && l.EndsWith("answered 400 BadDeviceToken over HTTP/2: TLS, HTTP/2 and the provider token are accepted", StringComparison.Ordinal));
            Assert.Contains(run.Lines, l => l.StartsWith("ok    sandbox", StringComparison.Ordinal) && l.Contains("400 BadDeviceToken", StringComparison.Ordinal));
        }
        finally
        {
            relay.Production.ClearScript(probe);
            relay.Sandbox.ClearScript(probe);
        }
    }

    [Fact]
    public async Task CheckReadsTheRelaysSettingsFromAConfigFile()
    {
        var file = Path.Combine(Path.GetTempPath(), $"relayctl-{Guid.NewGuid():N}.json");
        var settings = RelayEnvironment().ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => e.Value);
        await File.WriteAllTextAsync(file, JsonSerializer.Serialize(new
        {
            ConnectionStrings = new { Relay = settings["ConnectionStrings:Relay"] },
            Apns = new
            {
                TeamId = settings["Apns:TeamId"],
                KeyId = settings["Apns:KeyId"],
                PrivateKeyPath = settings["Apns:PrivateKeyPath"],
                TrustedCaPath = settings["Apns:TrustedCaPath"],
                ProductionEndpoint = settings["Apns:ProductionEndpoint"],
                SandboxEndpoint = settings["Apns:SandboxEndpoint"],
                Apps = new[] { new { Topic = RelayFactory.ChatTopic } },
            },
        }));
        try
        {
            var fromFile = await RunAsync(new Dictionary<string, string?>(), "check", "--config", file);
            var environmentWins = await RunAsync(new Dictionary<string, string?> { ["Apns__KeyId"] = "OTHERKEY12" }, "check", "--config", file);
            var missing = await RunAsync(new Dictionary<string, string?>(), "check", "--config", file + ".missing");

            Assert.Equal(0, fromFile.ExitCode);
            Assert.Empty(fromFile.Errors);
            Assert.Equal(1, environmentWins.ExitCode);
            Assert.All(environmentWins.Errors, e => Assert.Contains("InvalidProviderToken", e, StringComparison.Ordinal));
            Assert.Equal(1, missing.ExitCode);
            Assert.Equal($"relayctl: --config: cannot read '{file}.missing' (FileNotFoundException).", Assert.Single(missing.Errors));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task WithoutConfigItReadsDevRelayctlJsonInTheCurrentFolderOrTheFileRelayctlConfigNames()
    {
        var stack = Directory.CreateTempSubdirectory("relayctl-stack-").FullName;
        var elsewhere = Directory.CreateTempSubdirectory("relayctl-elsewhere-").FullName;
        try
        {
            // The shape scripts/run.sh writes: the relay's own keys, and the relay's URL for health.
            var settings = Path.Combine(stack, ".dev", "relayctl.json");
            Directory.CreateDirectory(Path.GetDirectoryName(settings)!);
            await File.WriteAllTextAsync(settings, SettingsJson(relay.Address.ToString()));
            var other = Path.Combine(elsewhere, "other.json");
            await File.WriteAllTextAsync(other, SettingsJson($"http://{ClosedPort}"));

            // Nothing from this process's environment: only the file may say where things are.
            var bare = new Dictionary<string, string?>
            {
                ["ConnectionStrings__Relay"] = null,
                ["RELAYCTL_CONFIG"] = null,
                ["Relayctl__RelayUrl"] = null,
            };
            var named = new Dictionary<string, string?>(bare) { ["RELAYCTL_CONFIG"] = settings };

            var health = await RunProcessInAsync(stack, bare, "health");
            var check = await RunProcessInAsync(stack, bare, "check");
            var devices = await RunProcessInAsync(stack, bare, "devices", "list", "--account", (await relay.CreateAccountAsync()).AccountId.ToString());
            var byVariable = await RunProcessInAsync(elsewhere, named, "health");
            var optionWins = await RunProcessInAsync(stack, named, "health", "--config", other);
            var noSettings = await RunProcessInAsync(elsewhere, bare, "stats");

            Assert.Equal((0, $"200 OK: {new Uri(relay.Address, "/health/ready")}"), (health.ExitCode, health.Output.Trim()));
            Assert.True(check.ExitCode == 0, check.Output + check.ErrorText);
            Assert.Equal("check: all 6 ok", check.Lines[^1]);
            Assert.Equal(0, devices.ExitCode);
            Assert.Equal(0, byVariable.ExitCode);
            Assert.Equal(1, optionWins.ExitCode);
            Assert.Equal($"relayctl: cannot reach http://{ClosedPort}/health/ready (ConnectionError)", Assert.Single(optionWins.Errors));
            Assert.Equal(1, noSettings.ExitCode);
            Assert.Contains("ConnectionStrings:Relay", Assert.Single(noSettings.Errors), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(stack, recursive: true);
            Directory.Delete(elsewhere, recursive: true);
        }
    }

    [Fact]
    public async Task CheckWithAnUnreachableDatabaseFailsWithOneLineNamingPostgreSql()
    {
        // The explicit option wins over ConnectionStrings__Relay; its password is never printed.
        var run = await RunAsync("check", "--connection-string", "Host=127.0.0.1;Port=1;Database=relay;Username=relay;Password=never-printed");

        Assert.Equal(1, run.ExitCode);
        var error = Assert.Single(run.Errors);
        Assert.StartsWith("relayctl: cannot connect to PostgreSQL at 127.0.0.1:1", error, StringComparison.Ordinal);
        Assert.Contains(run.Lines, l => l.StartsWith("FAIL  postgresql", StringComparison.Ordinal));
        Assert.Contains(run.Lines, l => l.StartsWith("SKIP  migrations", StringComparison.Ordinal));
        Assert.Contains(run.Lines, l => l.StartsWith("ok    production", StringComparison.Ordinal));
        Assert.DoesNotContain("never-printed", run.Output + error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckWithAMissingKeyFileFailsWithOneLineNamingThePrivateKeyPath()
    {
        var missing = Path.Combine(Path.GetTempPath(), "relayctl-" + Guid.NewGuid().ToString("N"), "missing.p8");

        var run = await RunAsync("check", "--key", missing);

        Assert.Equal(1, run.ExitCode);
        var error = Assert.Single(run.Errors);
        Assert.StartsWith($"relayctl: Apns:PrivateKeyPath: cannot read '{missing}'", error, StringComparison.Ordinal);
        Assert.Contains(run.Lines, l => l.StartsWith("SKIP  production", StringComparison.Ordinal));
        Assert.Contains(run.Lines, l => l.StartsWith("ok    postgresql", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CheckWithAnUnreachableEndpointFailsWithOneLineNamingIt()
    {
        var run = await RunAsync("check", "--production-endpoint", $"https://{ClosedPort}");

        Assert.Equal(1, run.ExitCode);
        var error = Assert.Single(run.Errors);
        Assert.Equal($"relayctl: APNs endpoint https://{ClosedPort} unreachable (ConnectionError)", error);
        Assert.Contains(run.Lines, l => l.StartsWith("ok    sandbox", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CheckReportsAWrongTeamAsAnInvalidProviderToken()
    {
        var run = await RunAsync("check", "--team-id", "WRONGTEAM1");

        Assert.Equal(1, run.ExitCode);
        Assert.Equal(2, run.Errors.Length);
        Assert.All(run.Errors, e => Assert.Contains("answered 403 InvalidProviderToken: the key, Apns:KeyId or Apns:TeamId is wrong", e, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DevicesListShowsTheTokenPrefixButNeverTheWholeToken()
    {
        var account = await relay.CreateAccountAsync();
        var (chatId, chatToken) = await account.RegisterDeviceAsync();
        var (otherId, otherToken) = await account.RegisterDeviceAsync(RelayFactory.OtherTopic, "sandbox");

        var run = await RunAsync("devices", "list", "--account", account.AccountId.ToString());

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Errors);
        Assert.Equal($"account {account.AccountId}: 2 device(s), 2 active", run.Lines[0]);
        var chat = Assert.Single(run.Lines, l => l.StartsWith(chatId.ToString(), StringComparison.Ordinal));
        Assert.Matches($@"^{chatId}\s+{RelayFactory.ChatTopic}\s+production\s+{chatToken[..8]}…\s.*never\s+active$", chat);
        var other = Assert.Single(run.Lines, l => l.StartsWith(otherId.ToString(), StringComparison.Ordinal));
        Assert.Matches($@"^{otherId}\s+{RelayFactory.OtherTopic}\s+sandbox\s+{otherToken[..8]}…\s", other);
        Assert.DoesNotContain(chatToken[..9], run.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(otherToken[..9], run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevicesListAsJsonMatchesTheApi()
    {
        var account = await relay.CreateAccountAsync();
        var (deviceId, token) = await account.RegisterDeviceAsync();

        var run = await RunAsync("devices", "list", "--account", account.AccountId.ToString(), "--json");

        Assert.Equal(0, run.ExitCode);
        var device = Assert.Single(JsonDocument.Parse(run.Output).RootElement.EnumerateArray());
        Assert.Equal(deviceId, device.GetProperty("deviceId").GetGuid());
        Assert.Equal(token[..8], device.GetProperty("tokenPrefix").GetString());
        Assert.Equal("production", device.GetProperty("environment").GetString());
        Assert.DoesNotContain(token, run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DevicesListOfAnUnknownAccountFailsWithOneLine()
    {
        var unknown = Guid.NewGuid();

        var run = await RunAsync("devices", "list", "--account", unknown.ToString());

        Assert.Equal(1, run.ExitCode);
        Assert.Equal($"relayctl: no account {unknown}", Assert.Single(run.Errors));
    }

    [Fact]
    public async Task PushDeliversThroughApnsAndRecordsTheSuccess()
    {
        var account = await relay.CreateAccountAsync();
        var (deviceId, token) = await account.RegisterDeviceAsync();
        var ciphertext = Json.NewCiphertext(64);

        var run = await RunAsync("push", "--device", deviceId.ToString(), "--ciphertext", ciphertext);

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(run.Errors);
        var notification = Assert.Single(relay.Production.NotificationsFor(token));
        Assert.Equal(RelayFactory.ChatTopic, notification.Topic);
        Assert.Equal("alert", notification.PushType);
        var body = JsonDocument.Parse(notification.BodyText).RootElement;
        Assert.Equal(1, body.GetProperty("aps").GetProperty("mutable-content").GetInt32());
        Assert.Equal("New message", body.GetProperty("aps").GetProperty("alert").GetProperty("title").GetString());
        Assert.Equal(ciphertext, body.GetProperty("ciphertext").GetString());
        Assert.Contains(run.Lines, l => l.StartsWith($"answer   200 accepted, apns-id {notification.ApnsId}", StringComparison.Ordinal));
        Assert.DoesNotContain(token, run.Output, StringComparison.Ordinal);

        var listed = Assert.Single(await account.ListDevicesAsync());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("lastSuccessAt").ValueKind);
    }

    [Fact]
    public async Task PushUsesTheTopicsAlertAndTheDevicesEnvironment()
    {
        var account = await relay.CreateAccountAsync();
        var (deviceId, token) = await account.RegisterDeviceAsync(RelayFactory.OtherTopic, "sandbox");

        var run = await RunAsync("push", "--device", deviceId.ToString());

        Assert.Equal(0, run.ExitCode);
        Assert.Empty(relay.Production.NotificationsFor(token));
        var notification = Assert.Single(relay.Sandbox.NotificationsFor(token));
        Assert.Equal(RelayFactory.OtherTopic, notification.Topic);
        var aps = JsonDocument.Parse(notification.BodyText).RootElement.GetProperty("aps");
        Assert.Equal(RelayFactory.OtherAlertTitle, aps.GetProperty("alert").GetProperty("title").GetString());
        Assert.Equal("chime.caf", aps.GetProperty("sound").GetString());
        Assert.Equal(1, aps.GetProperty("mutable-content").GetInt32());
    }

    [Fact]
    public async Task PushToABadDeviceTokenFailsAndInvalidatesTheDevice()
    {
        var account = await relay.CreateAccountAsync();
        var (deviceId, token) = await account.RegisterDeviceAsync();
        relay.Production.Script(token, MockApnsBehavior.BadDeviceToken);

        var run = await RunAsync("push", "--device", deviceId.ToString());

        Assert.Equal(1, run.ExitCode);
        var error = Assert.Single(run.Errors);
        Assert.Equal($"relayctl: APNs rejected the push to device {deviceId}: 400 BadDeviceToken (device invalidated (BadDeviceToken))", error);
        var listed = Assert.Single(await account.ListDevicesAsync());
        Assert.Equal("BadDeviceToken", listed.GetProperty("invalidReason").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("invalidatedAt").ValueKind);

        // The relay sends an invalidated device nothing, and so does relayctl unless forced.
        var again = await RunAsync("push", "--device", deviceId.ToString());
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("was invalidated", Assert.Single(again.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PushKeepsADeviceRegisteredAgainAfterTheUnregisteredTimestamp()
    {
        var account = await relay.CreateAccountAsync();
        var (keptId, keptToken) = await account.RegisterDeviceAsync();
        var (deadId, deadToken) = await account.RegisterDeviceAsync();
        relay.Production.Script(keptToken, MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddHours(-1)));
        relay.Production.Script(deadToken, MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddMinutes(1)));

        var kept = await RunAsync("push", "--device", keptId.ToString());
        var dead = await RunAsync("push", "--device", deadId.ToString());

        Assert.Equal(1, kept.ExitCode);
        Assert.Contains("410 Unregistered (device kept", Assert.Single(kept.Errors), StringComparison.Ordinal);
        Assert.Equal(1, dead.ExitCode);
        Assert.Contains("410 Unregistered (device invalidated (Unregistered))", Assert.Single(dead.Errors), StringComparison.Ordinal);
        var devices = await account.ListDevicesAsync();
        Assert.Equal(JsonValueKind.Null, devices.Single(d => d.GetProperty("deviceId").GetGuid() == keptId).GetProperty("invalidatedAt").ValueKind);
        Assert.Equal("Unregistered", devices.Single(d => d.GetProperty("deviceId").GetGuid() == deadId).GetProperty("invalidReason").GetString());
    }

    public static TheoryData<string> DeviceAnswers => ["BadDeviceToken", "DeviceTokenNotForTopic", "Unregistered before", "Unregistered after", "ServiceUnavailable", "Accepted"];

    [Theory]
    [MemberData(nameof(DeviceAnswers))]
    public async Task PushJudgesADevicesAnswerAsTheRelayDoes(string answer)
    {
        var sender = await relay.CreateAccountAsync();
        var viaRelay = await relay.CreateAccountAsync();
        var viaCtl = await relay.CreateAccountAsync();
        var (relayDevice, relayToken) = await viaRelay.RegisterDeviceAsync();
        var (ctlDevice, ctlToken) = await viaCtl.RegisterDeviceAsync();
        var behavior = answer switch
        {
            "BadDeviceToken" => MockApnsBehavior.BadDeviceToken,
            "DeviceTokenNotForTopic" => MockApnsBehavior.DeviceTokenNotForTopic,
            "Unregistered before" => MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddHours(-1)),
            "Unregistered after" => MockApnsBehavior.Unregistered(DateTimeOffset.UtcNow.AddMinutes(1)),
            "ServiceUnavailable" => MockApnsBehavior.ServiceUnavailable.Times(1),
            _ => MockApnsBehavior.Accept,
        };
        relay.Production.Script(relayToken, behavior);
        relay.Production.Script(ctlToken, behavior);

        await sender.SendMessageAsync(new { to = new[] { viaRelay.AccountId }, ciphertext = Json.NewCiphertext() });
        await RunAsync("push", "--device", ctlDevice.ToString());

        var byRelay = Assert.Single(await viaRelay.ListDevicesAsync());
        var byCtl = Assert.Single(await viaCtl.ListDevicesAsync());
        Assert.Equal(relayDevice, byRelay.GetProperty("deviceId").GetGuid());
        Assert.Equal(byRelay.GetProperty("invalidReason").ToString(), byCtl.GetProperty("invalidReason").ToString());
        Assert.Equal(byRelay.GetProperty("invalidatedAt").ValueKind, byCtl.GetProperty("invalidatedAt").ValueKind);
        var invalidated = byCtl.GetProperty("invalidatedAt").ValueKind != JsonValueKind.Null;
        Assert.Equal(answer is "BadDeviceToken" or "DeviceTokenNotForTopic" or "Unregistered after", invalidated);
    }

    [Fact]
    public async Task PushToAnUnknownDeviceFailsAndBadOptionsAreUsageErrors()
    {
        var unknown = Guid.NewGuid();

        var missing = await RunAsync("push", "--device", unknown.ToString());
        var notBase64 = await RunAsync("push", "--device", unknown.ToString(), "--ciphertext", "not base64!");
        var noDevice = await RunAsync("push");

        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"relayctl: no device {unknown}", Assert.Single(missing.Errors));
        Assert.Equal(2, notBase64.ExitCode);
        Assert.Equal("relayctl: --ciphertext must be standard base64.", Assert.Single(notBase64.Errors));
        Assert.Equal(2, noDevice.ExitCode);
        Assert.Contains("--device", Assert.Single(noDevice.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatsCountWhatTheTestCreated()
    {
        var before = await StatsAsync();
        var caller = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        var (_, aliveToken) = await recipient.RegisterDeviceAsync();
        await recipient.RegisterDeviceAsync();
        await recipient.RegisterDeviceAsync(RelayFactory.OtherTopic, "sandbox");
        var (_, deadToken) = await recipient.RegisterDeviceAsync();
        await caller.RegisterDeviceAsync(RelayFactory.OtherTopic, "sandbox");
        relay.Production.Script(deadToken, MockApnsBehavior.BadDeviceToken);
        await caller.SendMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Json.NewCiphertext() });
        Assert.Single(relay.Production.NotificationsFor(aliveToken));

        // The relay writes successes in batches, within about half a second.
        var after = await StatsAsync();
        for (var attempt = 0; attempt < 50 && Delta(before, after, "lastSuccess", "within24Hours") < 3; attempt++)
        {
            await Task.Delay(100);
            after = await StatsAsync();
        }

        Assert.Equal(2, Delta(before, after, "accounts"));
        Assert.Equal(5, Delta(before, after, "devices", "total"));
        Assert.Equal(4, Delta(before, after, "devices", "active"));
        Assert.Equal(1, Delta(before, after, "devices", "invalidated"));
        Assert.Equal(3, TopicDelta(before, after, RelayFactory.ChatTopic, "production"));
        Assert.Equal(2, TopicDelta(before, after, RelayFactory.OtherTopic, "sandbox"));
        Assert.Equal(1, Delta(before, after, "invalidatedByReason", "BadDeviceToken"));
        Assert.Equal(3, Delta(before, after, "lastSuccess", "within24Hours"));
        Assert.Equal(3, Delta(before, after, "lastSuccess", "within7Days"));
        Assert.Equal(2, Delta(before, after, "lastSuccess", "never"));

        var text = await RunAsync("stats");
        Assert.Equal(0, text.ExitCode);
        Assert.Matches($@"^accounts\s+{after.GetProperty("accounts").GetInt64()}$", text.Lines[0]);
        Assert.Contains(text.Lines, l => l.Trim().StartsWith("BadDeviceToken", StringComparison.Ordinal));
    }

    [Fact]
    public async Task HealthIsOkAgainstTheRelayAndFailsAgainstAClosedPort()
    {
        var ready = await RunAsync("health", "--url", new Uri(relay.Address, "/health/ready").ToString());
        var closed = await RunAsync("health", "--url", $"http://{ClosedPort}/health/ready");
        var notAUrl = await RunAsync("health", "--url", "relay:8080");

        Assert.Equal(0, ready.ExitCode);
        Assert.StartsWith("200 OK", ready.Output, StringComparison.Ordinal);
        Assert.Equal(1, closed.ExitCode);
        Assert.Equal($"relayctl: cannot reach http://{ClosedPort}/health/ready (ConnectionError)", Assert.Single(closed.Errors));
        Assert.Equal(2, notAUrl.ExitCode);
        Assert.Single(notAUrl.Errors);
    }

    [Fact]
    public async Task RelayctlRunsAsAProcessWithItsExitCodes()
    {
        var ready = await RunProcessAsync(RelayEnvironment(), "health", "--url", new Uri(relay.Address, "/health/ready").ToString());
        var closed = await RunProcessAsync(RelayEnvironment(), "health", "--url", $"http://{ClosedPort}/health/ready");
        var check = await RunProcessAsync(RelayEnvironment(), "check");
        var environment = RelayEnvironment();
        environment["ConnectionStrings__Relay"] = $"Host=127.0.0.1;Port=1;Database=relay;Username=relay;Password=never-printed";
        var broken = await RunProcessAsync(environment, "check");
        var usage = await RunProcessAsync(RelayEnvironment(), "devices", "list");

        Assert.Equal(0, ready.ExitCode);
        Assert.Equal(1, closed.ExitCode);
        Assert.Single(closed.Errors);
        Assert.Equal(0, check.ExitCode);
        Assert.Empty(check.Errors);
        Assert.Equal(1, broken.ExitCode);
        Assert.StartsWith("relayctl: cannot connect to PostgreSQL at 127.0.0.1:1", Assert.Single(broken.Errors), StringComparison.Ordinal);
        Assert.DoesNotContain("never-printed", broken.Output, StringComparison.Ordinal);
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--account", Assert.Single(usage.Errors), StringComparison.Ordinal);
    }

    /// <summary>The relay's own settings, as the environment variables an operator would set.</summary>
    private Dictionary<string, string?> RelayEnvironment() => new()
    {
        ["ConnectionStrings__Relay"] = relay.Database.ConnectionString,
        ["Apns__TeamId"] = RelayFactory.TeamId,
        ["Apns__KeyId"] = RelayFactory.KeyId,
        ["Apns__PrivateKeyPath"] = relay.KeyPath,
        ["Apns__TrustedCaPath"] = relay.CaPath,
        ["Apns__ProductionEndpoint"] = relay.Production.BaseAddress.ToString(),
        ["Apns__SandboxEndpoint"] = relay.Sandbox.BaseAddress.ToString(),
        ["Apns__RequestTimeout"] = "00:00:05",
        ["Apns__Apps__0__Topic"] = RelayFactory.ChatTopic,
        ["Apns__Apps__1__Topic"] = RelayFactory.OtherTopic,
        ["Apns__Apps__1__Alert__Title"] = RelayFactory.OtherAlertTitle,
        ["Apns__Apps__1__Alert__LocKey"] = "NEW_THING",
        ["Apns__Apps__1__Sound"] = "chime.caf",
    };

    private Task<CtlRun> RunAsync(params string[] args) => RunAsync(RelayEnvironment(), args);

    private static async Task<CtlRun> RunAsync(Dictionary<string, string?> environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exitCode = await RelayCtl.RunAsync(args, stdout, stderr, environment);
        return new CtlRun(exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>Runs the built relayctl.dll (copied beside the tests by the project reference) with only these settings.</summary>
    private static async Task<CtlRun> RunProcessAsync(Dictionary<string, string?> environment, params string[] args)
    {
        var result = await ChildProcess.RunAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "relayctl.dll"), .. args], TimeSpan.FromSeconds(60), environment: environment);
        return new CtlRun(result.ExitCode, result.Output, result.Errors);
    }

    /// <summary>Runs the built relayctl.dll in <paramref name="workingDirectory"/>.</summary>
    private static async Task<CtlRun> RunProcessInAsync(string workingDirectory, Dictionary<string, string?> environment, params string[] args)
    {
        var result = await ChildProcess.RunAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "relayctl.dll"), .. args], TimeSpan.FromSeconds(60), workingDirectory, environment);
        return new CtlRun(result.ExitCode, result.Output, result.Errors);
    }

    /// <summary>The test relay's settings as a relayctl settings file, with <paramref name="relayUrl"/> for health.</summary>
    private string SettingsJson(string relayUrl) => JsonSerializer.Serialize(new
    {
        ConnectionStrings = new { Relay = relay.Database.ConnectionString },
        Apns = new
        {
            TeamId = RelayFactory.TeamId,
            KeyId = RelayFactory.KeyId,
            PrivateKeyPath = relay.KeyPath,
            TrustedCaPath = relay.CaPath,
            ProductionEndpoint = relay.Production.BaseAddress.ToString(),
            SandboxEndpoint = relay.Sandbox.BaseAddress.ToString(),
            Apps = new[] { new { Topic = RelayFactory.ChatTopic }, new { Topic = RelayFactory.OtherTopic } },
        },
        Relayctl = new { RelayUrl = relayUrl },
    });

    private async Task<JsonElement> StatsAsync()
    {
        var run = await RunAsync("stats", "--json");
        Assert.Equal(0, run.ExitCode);
        return JsonDocument.Parse(run.Output).RootElement.Clone();
    }

    private static long Delta(JsonElement before, JsonElement after, params string[] path) => Read(after, path) - Read(before, path);

    private static long Read(JsonElement element, string[] path)
    {
        foreach (var name in path)
        {
            if (!element.TryGetProperty(name, out element))
            {
                return 0;
            }
        }

        return element.GetInt64();
    }

    private static long TopicDelta(JsonElement before, JsonElement after, string topic, string environment)
    {
        static long Total(JsonElement stats, string topic, string environment) => stats.GetProperty("byTopic").EnumerateArray()
            .Where(t => t.GetProperty("topic").GetString() == topic && t.GetProperty("environment").GetString() == environment)
            .Sum(t => t.GetProperty("total").GetInt64());
        return Total(after, topic, environment) - Total(before, topic, environment);
    }

    private sealed record CtlRun(int ExitCode, string Output, string ErrorText)
    {
        public string[] Lines { get; } = Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public string[] Errors { get; } = ErrorText.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
