using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Relay.Api.Tests.Delivery;
using Relay.MockApns;
using Serilog.Core;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Realtime;

/// <summary>Two relay instances on one PostgreSQL and one Redis (<c>RELAY_TEST_REDIS</c>), as scale-out runs them.</summary>
public sealed class ScaleOutRelays : IAsyncLifetime
{
    public ScaleOutFactory A { get; } = new();

    public PeerRelay B { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await A.InitializeAsync();
        B = new PeerRelay(A);
        B.UseKestrel(0);
        B.StartServer();
    }

    public async Task DisposeAsync()
    {
        await B.DisposeAsync();
        await A.DisposeAsync();
    }
}

/// <summary>Instance A: the usual test relay, with Redis.</summary>
public sealed class ScaleOutFactory : RelayFactory
{
    public static string Redis =>
        Environment.GetEnvironmentVariable("RELAY_TEST_REDIS") is { Length: > 0 } redis ? redis
            : throw new InvalidOperationException("Set RELAY_TEST_REDIS to a Redis for the scale-out tests (host:port), or run scripts/test.sh, which starts one.");

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
    [
        ("Delivery:RetryInitialDelay", "00:00:00.200"),
        ("Delivery:RetryMaxDelay", "00:00:01"),
        ("Realtime:AckTimeout", "00:00:01"),
        ("RateLimits:AccountPerMinute", "1000000"),
        ("Redis:Configuration", Redis),
    ];
}

/// <summary>Instance B: another relay process's worth of host on A's database, mocks, keys and Redis.</summary>
public sealed class PeerRelay(RelayFactory primary) : WebApplicationFactory<Program>
{
    public LogCapture Logs { get; } = new();

    public Uri Address => new(Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        foreach (var (key, value) in primary.Settings())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureServices(services => services.AddSingleton<ILogEventSink>(Logs));
    }
}

public sealed class ScaleOutTests(ScaleOutRelays relays, ITestOutputHelper output) : IClassFixture<ScaleOutRelays>
{
    private static readonly string Ciphertext = Convert.ToBase64String("scale-out ciphertext"u8.ToArray());

    private ScaleOutFactory A => relays.A;

    [Fact]
    public async Task AMessagePostedOnAReachesADeviceConnectedToBWhoseAckMakesItDeliveredWithoutAPush()
    {
        var sender = await A.CreateAccountAsync();
        var recipient = await A.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var device = await ConnectAsync(relays.B.Address, recipient, deviceId, autoAck: true);

        var (status, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("delivered", body.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Equal(body.GetProperty("messageId").GetGuid(), Assert.Single(device.MessageIds.Distinct()));
        await Task.Delay(1_500);
        Assert.Empty(A.Production.NotificationsFor(token));
    }

    [Fact]
    public async Task AnOfflineDevicesMessagePostedOnAIsServedByBsInboxAndASenderOnBGetsItsUpdates()
    {
        var sender = await A.CreateAccountAsync();
        var (senderDevice, _) = await sender.RegisterDeviceAsync();
        var recipient = await A.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var watcher = await ConnectAsync(relays.B.Address, sender, senderDevice);
        A.Production.Script(token, MockApnsBehavior.ServiceUnavailable.Times(2));

        var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
        var messageId = body.GetProperty("messageId").GetGuid();
        Assert.Equal("retrying", body.GetProperty("deliveries")[0].GetProperty("status").GetString());

        var sent = await watcher.WaitForUpdateAsync(u => u.GetProperty("status").GetString() == "sent", TimeSpan.FromSeconds(15));
        Assert.NotNull(sent);
        // Two instances' dispatchers, one lease: the retry reached APNs once.
        Assert.Single(A.Production.NotificationsFor(token));

        await using var device = await ConnectAsync(relays.B.Address, recipient, deviceId);
        await device.WaitForMessagesAsync(1, TimeSpan.FromSeconds(5));
        Assert.Equal([messageId], device.MessageIds);
        Assert.Equal(1, await device.AckAsync(messageId));
        var delivered = await watcher.WaitForUpdateAsync(u => u.GetProperty("status").GetString() == "delivered", TimeSpan.FromSeconds(5));
        Assert.NotNull(delivered);
        var state = await sender.Client.GetFromJsonAsync<JsonElement>($"/v1/messages/{messageId}");
        Assert.Equal("delivered", state.GetProperty("deliveries")[0].GetProperty("status").GetString());
    }

    [Fact]
    public async Task DeletingADeviceOnAClosesItsConnectionOnBAndANewConnectionOnAClosesTheOlderOnB()
    {
        var account = await A.CreateAccountAsync();
        var (deleted, _) = await account.RegisterDeviceAsync();
        var (twice, _) = await account.RegisterDeviceAsync();
        await using var onB = await ConnectAsync(relays.B.Address, account, deleted);
        await using var olderOnB = await ConnectAsync(relays.B.Address, account, twice);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        (await account.Client.DeleteAsync($"/v1/devices/{deleted}")).EnsureSuccessStatusCode();
        await onB.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"deleted on A, closed on B after {clock.ElapsedMilliseconds} ms");

        await using var newerOnA = await ConnectAsync(A.Address, account, twice);
        await olderOnB.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HubConnectionState.Connected, newerOnA.Connection.State);
    }

    private static async Task<DeviceConnection> ConnectAsync(Uri relay, TestAccount account, Guid deviceId, bool autoAck = false)
    {
        var token = account.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(relay, $"/v1/realtime?deviceId={deviceId:D}"), options =>
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
                options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
            })
            .Build();
        return await DeviceConnection.StartAsync(connection, autoAck);
    }
}
