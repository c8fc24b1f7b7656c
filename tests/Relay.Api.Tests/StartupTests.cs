using Relay.MockApns;

namespace Relay.Api.Tests;

/// <summary>The relay as a real process: a missing required setting stops it with a non-zero exit naming the key.</summary>
public sealed class StartupTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("relay-startup-").FullName;

    public StartupTests()
    {
        using var certificates = MockApnsCertificates.CreateDevelopmentSet();
        certificates.Write(_directory);
    }

    [Theory]
    [InlineData("ConnectionStrings__Relay", "ConnectionStrings:Relay")]
    [InlineData("Apns__KeyId", "Apns:KeyId")]
    [InlineData("Apns__TeamId", "Apns:TeamId")]
    [InlineData("Apns__PrivateKeyPath", "Apns:PrivateKeyPath")]
    [InlineData("Apns__Apps__0__Topic", "Apns:Apps")]
    [InlineData("Auth__SigningKey", "Auth:SigningKey")]
    public async Task StartWithoutARequiredSettingExitsNonZeroNamingIt(string variable, string key)
    {
        var (exitCode, output) = await RunRelayAsync(variable);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(key, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnreadableKeyFileExitsNonZeroNamingTheSetting()
    {
        var (exitCode, output) = await RunRelayAsync(null, ("Apns__PrivateKeyPath", Path.Combine(_directory, "missing.p8")));

        Assert.NotEqual(0, exitCode);
        Assert.Contains("Apns:PrivateKeyPath", output, StringComparison.Ordinal);
    }

    private async Task<(int ExitCode, string Output)> RunRelayAsync(string? without, params (string Name, string Value)[] overrides)
    {
        var environment = new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
            ["ConnectionStrings__Relay"] = "Host=127.0.0.1;Port=1;Database=none;Username=none",
            ["Apns__TeamId"] = RelayFactory.TeamId,
            ["Apns__KeyId"] = RelayFactory.KeyId,
            ["Apns__PrivateKeyPath"] = Path.Combine(_directory, "apns-key.p8"),
            ["Apns__Apps__0__Topic"] = RelayFactory.ChatTopic,
            ["Auth__SigningKey"] = Convert.ToBase64String(new byte[32]),
        };
        foreach (var (name, value) in overrides)
        {
            environment[name] = value;
        }

        if (without is not null)
        {
            // Removed, not just left out: the test process's own settings must not leak into the child.
            environment[without] = null;
        }

        var result = await ChildProcess.RunAsync(
            "dotnet", [Path.Combine(AppContext.BaseDirectory, "Relay.Api.dll")], TimeSpan.FromSeconds(60), environment: environment);
        return (result.ExitCode, result.Output + result.Errors);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
