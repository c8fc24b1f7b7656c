using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using NSec.Cryptography;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Faults;

/// <summary>
/// What a process-level fault test needs around the relay processes it starts: the mock APNs in this process (its CA
/// and the relay's <c>.p8</c> written to a temporary folder), one bearer-token signing key shared by every relay
/// process of the test (so a restarted or second relay accepts the same tokens), and the relays themselves, all
/// stopped when the rig is disposed.
/// </summary>
public sealed class FaultRig : IAsyncDisposable
{
    public static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(90);

    private readonly string _directory = Directory.CreateTempSubdirectory("relay-faults-").FullName;
    private readonly MockApnsCertificateSet _certificates = MockApnsCertificates.CreateDevelopmentSet();
    private readonly List<RelayProcess> _relays = [];
    private readonly ITestOutputHelper _output;

    private FaultRig(ITestOutputHelper output) => _output = output;

    public MockApnsServer Apns { get; private set; } = null!;

    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public static async Task<FaultRig> StartAsync(ITestOutputHelper output)
    {
        var rig = new FaultRig(output);
        rig._certificates.Write(rig._directory);
        rig.Apns = await MockApnsServer.StartAsync(rig._certificates.CreateOptions(RelayFactory.TeamId, RelayFactory.KeyId, RelayFactory.ChatTopic));
        return rig;
    }

    /// <summary>
    /// Starts a relay process on <paramref name="connectionString"/>'s database with fast retries, pointed at the
    /// mock; <paramref name="overrides"/> change any setting (<c>Delivery:LeaseTimeout</c>, say).
    /// </summary>
    public async Task<RelayProcess> StartRelayAsync(string name, string connectionString, params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string>
        {
            ["ConnectionStrings:Relay"] = connectionString,
            ["Database:MigrateOnStartup"] = "true",
            ["Auth:SigningKey"] = SigningKey,
            ["Apns:TeamId"] = RelayFactory.TeamId,
            ["Apns:KeyId"] = RelayFactory.KeyId,
            ["Apns:PrivateKeyPath"] = Path.Combine(_directory, MockApnsCertificates.ProviderKeyFileName),
            ["Apns:TrustedCaPath"] = Path.Combine(_directory, MockApnsCertificates.CaFileName),
            ["Apns:ProductionEndpoint"] = Apns.BaseAddress.ToString(),
            ["Apns:SandboxEndpoint"] = Apns.BaseAddress.ToString(),
            // Generous: on a starved machine an answer the relay gave up on could still have been accepted (a repeat).
            ["Apns:RequestTimeout"] = "00:00:05",
            ["Apns:Apps:0:Topic"] = RelayFactory.ChatTopic,
            ["Delivery:AnswerTimeout"] = "00:00:02",
            ["Delivery:RetryInitialDelay"] = "00:00:00.200",
            ["Delivery:RetryMaxDelay"] = "00:00:01",
            ["Delivery:LeaseTimeout"] = "00:00:08",
            ["Delivery:ShutdownTimeout"] = "00:00:05",
            ["RateLimits:AnonymousPerMinute"] = "1000000",
            ["RateLimits:AccountPerMinute"] = "1000000",
            // Warnings and errors only: 5xx request logs are errors, and a quiet relay leaves the CPU to the test.
            ["Serilog:MinimumLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in overrides)
        {
            settings[key] = value;
        }

        var relay = await RelayProcess.StartAsync(name, settings, ReadyTimeout);
        _relays.Add(relay);
        _output.WriteLine($"{name}: pid {relay.Pid} at {relay.Address}");
        return relay;
    }

    /// <summary>A sender and <paramref name="recipients"/> accounts with one device each, made through the relay's API.</summary>
    public static async Task<FaultLoad> PrepareAsync(RelayProcess relay, int recipients)
    {
        var (sender, token) = await CreateAccountAsync(relay.Address);
        var devices = new List<Delivery.LoadDevice>();
        for (var i = 0; i < recipients; i++)
        {
            var (account, _) = await CreateAccountAsync(relay.Address);
            var (deviceId, deviceToken) = await account.RegisterDeviceAsync();
            devices.Add(new Delivery.LoadDevice(account.AccountId, deviceId, deviceToken));
            account.Client.Dispose();
        }

        sender.Client.Dispose();
        return new FaultLoad(token, devices);
    }

    /// <summary>Creates an account with a fresh Ed25519 key and signs it in, as a phone would.</summary>
    public static async Task<(TestAccount Account, string BearerToken)> CreateAccountAsync(Uri relay)
    {
        var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var client = new HttpClient { BaseAddress = relay };
        using var created = await client.PostAsJsonAsync("/v1/accounts", new { identityKey = Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)) });
        created.EnsureSuccessStatusCode();
        var accountId = (await created.Content.ReadFromJsonAsync<AccountBody>())!.AccountId;
        var account = new TestAccount(accountId, key, client);
        var token = await account.SignInAsync();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return (account, token);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var relay in _relays)
        {
            await relay.DisposeAsync();
        }

        try
        {
            // No relay process logged a secret: ciphertexts, device and bearer tokens, its signing key, its provider tokens.
            var providerTokens = Apns.Notifications.Select(n => n.ProviderToken).Distinct().ToList();
            foreach (var relay in _relays)
            {
                LogCapture.AssertNoSecretIn(string.Join('\n', relay.Output), [SigningKey, .. providerTokens]);
            }
        }
        finally
        {
            await Apns.DisposeAsync();
            _certificates.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    private sealed record AccountBody(Guid AccountId);
}
