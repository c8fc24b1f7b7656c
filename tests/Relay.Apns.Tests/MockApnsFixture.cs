using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Relay.MockApns;

namespace Relay.Apns.Tests;

/// <summary>
/// Development credentials for one test class: a CA and server certificate for the mock, and the provider key as a
/// .p8 file next to ca.pem in a temporary folder. Each test starts its own <see cref="MockApnsServer"/> from it.
/// </summary>
public sealed class MockApnsFixture : IDisposable
{
    public const string TeamId = "TEAM000001";
    public const string KeyId = "KEY0000001";
    public const string Topic = "com.example.chat";

    public MockApnsFixture()
    {
        Certificates = MockApnsCertificates.CreateDevelopmentSet();
        Folder = Directory.CreateTempSubdirectory("relay-apns-tests-").FullName;
        CaPath = Path.Combine(Folder, MockApnsCertificates.CaFileName);
        KeyPath = Path.Combine(Folder, MockApnsCertificates.ProviderKeyFileName);
        File.WriteAllText(CaPath, Certificates.CaCertificatePem + "\n");
        File.WriteAllText(KeyPath, Certificates.ProviderKeyPem);
    }

    public MockApnsCertificateSet Certificates { get; }

    public string Folder { get; }

    public string CaPath { get; }

    public string KeyPath { get; }

    /// <summary>A mock that knows this team, key and topic; <paramref name="configure"/> may change any of it.</summary>
    public Task<MockApnsServer> StartMockAsync(Action<MockApnsOptions>? configure = null)
    {
        var options = Certificates.CreateOptions(TeamId, KeyId, Topic);
        configure?.Invoke(options);
        return MockApnsServer.StartAsync(options);
    }

    public ApnsOptions ClientOptions(MockApnsServer production, MockApnsServer? sandbox = null) => new()
    {
        TeamId = TeamId,
        KeyId = KeyId,
        PrivateKeyPath = KeyPath,
        ProductionEndpoint = production.BaseAddress,
        SandboxEndpoint = (sandbox ?? production).BaseAddress,
        TrustedCaPath = CaPath,
        RequestTimeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A token source with its own copy of the private key, read from the .p8 file as the relay does.</summary>
    public ApnsProviderToken CreateProviderToken(TimeProvider timeProvider)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(KeyPath));
        return new ApnsProviderToken(TeamId, KeyId, key, timeProvider);
    }

    public ApnsClient CreateClient(
        MockApnsServer production,
        MockApnsServer? sandbox = null,
        Action<ApnsOptions>? configure = null,
        TimeProvider? timeProvider = null,
        ILogger<ApnsClient>? logger = null,
        ApnsMetrics? metrics = null)
    {
        var options = ClientOptions(production, sandbox);
        configure?.Invoke(options);
        timeProvider ??= TimeProvider.System;
        return new ApnsClient(options, CreateProviderToken(timeProvider), timeProvider, logger, metrics);
    }

    public void Dispose()
    {
        Certificates.Dispose();
        Directory.Delete(Folder, recursive: true);
    }
}
