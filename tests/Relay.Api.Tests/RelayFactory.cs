using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using NSec.Cryptography;
using Relay.MockApns;
using Serilog.Core;

namespace Relay.Api.Tests;

/// <summary>
/// The relay on Kestrel at a loopback port, with its own PostgreSQL database (migrated at start-up) and two mock
/// APNs servers over TLS HTTP/2: one as the production endpoint, one as the sandbox. One per test class.
/// </summary>
public class RelayFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    public const string TeamId = "TEAM123456";
    public const string KeyId = "KEY1234567";
    public const string ChatTopic = "com.example.chat";
    public const string OtherTopic = "com.example.other";
    public const string OtherAlertTitle = "Something new";

    private readonly string _directory = Directory.CreateTempSubdirectory("relay-tests-").FullName;
    private readonly MockApnsCertificateSet _certificates = MockApnsCertificates.CreateDevelopmentSet();

    public TestDatabase Database { get; private set; } = null!;

    public MockApnsServer Production { get; private set; } = null!;

    public MockApnsServer Sandbox { get; private set; } = null!;

    public string SigningKey { get; } = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    public LogCapture Logs { get; } = new();

    /// <summary>The relay's <c>.p8</c> signing key (Apns:PrivateKeyPath).</summary>
    public string KeyPath => Path.Combine(_directory, "apns-key.p8");

    /// <summary>The CA the mocks' certificates chain to (Apns:TrustedCaPath).</summary>
    public string CaPath => Path.Combine(_directory, "ca.pem");

    protected virtual string MinimumLogLevel => "Information";

    /// <summary>The host environment; scripts/run.sh runs the relay as Development.</summary>
    protected virtual string EnvironmentName => "Testing";

    /// <summary>Settings a derived factory adds or overrides (Delivery:*, rate limits).</summary>
    protected virtual IEnumerable<(string Key, string Value)> ExtraSettings => [];

    /// <summary>Tests create many accounts from one address; the rate-limit test lowers this.</summary>
    protected virtual int AnonymousPerMinute => 100_000;

    public virtual async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync();
        _certificates.Write(_directory);
        Production = await MockApnsServer.StartAsync(_certificates.CreateOptions(TeamId, KeyId, ChatTopic, OtherTopic));
        Sandbox = await MockApnsServer.StartAsync(_certificates.CreateOptions(TeamId, KeyId, ChatTopic, OtherTopic));
        UseKestrel(0);
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        foreach (var (key, value) in Settings())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services =>
        {
            services.AddSingleton<ILogEventSink>(Logs);
        });
    }

    /// <summary>Every setting this relay runs with; another instance on the same database and mocks takes the same.</summary>
    public IEnumerable<(string Key, string Value)> Settings()
    {
        yield return ("Serilog:MinimumLevel:Default", MinimumLogLevel);
        yield return ("ConnectionStrings:Relay", Database.ConnectionString);
        yield return ("Database:MigrateOnStartup", "true");
        yield return ("Auth:SigningKey", SigningKey);
        yield return ("Apns:TeamId", TeamId);
        yield return ("Apns:KeyId", KeyId);
        yield return ("Apns:PrivateKeyPath", Path.Combine(_directory, "apns-key.p8"));
        yield return ("Apns:TrustedCaPath", Path.Combine(_directory, "ca.pem"));
        yield return ("Apns:ProductionEndpoint", Production.BaseAddress.ToString());
        yield return ("Apns:SandboxEndpoint", Sandbox.BaseAddress.ToString());
        yield return ("Apns:RequestTimeout", "00:00:05");
        yield return ("RateLimits:AnonymousPerMinute", AnonymousPerMinute.ToString(System.Globalization.CultureInfo.InvariantCulture));
        yield return ("Apns:Apps:0:Topic", ChatTopic);
        yield return ("Apns:Apps:1:Topic", OtherTopic);
        yield return ("Apns:Apps:1:Alert:Title", OtherAlertTitle);
        yield return ("Apns:Apps:1:Alert:LocKey", "NEW_THING");
        yield return ("Apns:Apps:1:Sound", "chime.caf");
        foreach (var setting in ExtraSettings)
        {
            yield return setting;
        }
    }

    /// <summary>A client of the relay over real HTTP on loopback.</summary>
    public HttpClient CreateRelayClient() => new() { BaseAddress = Address };

    /// <summary>Where the relay listens (Kestrel on a loopback port).</summary>
    public Uri Address => new(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    /// <summary>Creates an account with a fresh Ed25519 key and signs it in.</summary>
    public async Task<TestAccount> CreateAccountAsync()
    {
        var key = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var client = CreateRelayClient();
        var created = await client.PostAsJsonAsync("/v1/accounts", new { identityKey = Convert.ToBase64String(key.PublicKey.Export(KeyBlobFormat.RawPublicKey)) });
        created.EnsureSuccessStatusCode();
        var accountId = (await created.Content.ReadFromJsonAsync<AccountBody>())!.AccountId;
        var account = new TestAccount(accountId, key, client);
        var token = await account.SignInAsync();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return account;
    }

    public new async Task DisposeAsync()
    {
        // The provider tokens this relay sent and its signing key join every secret the tests used: none may be in
        // its logs, at whatever test they were written.
        var providerTokens = Production.Notifications.Concat(Sandbox.Notifications).Select(n => n.ProviderToken).Distinct().ToList();
        await base.DisposeAsync();
        Logs.AssertHoldsNoSecret([SigningKey, .. providerTokens]);
        await Production.DisposeAsync();
        await Sandbox.DisposeAsync();
        await Database.DisposeAsync();
        _certificates.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed record AccountBody(Guid AccountId);
}
