using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;
using Relay.Api.Tests.Delivery;
using Relay.Api.Tests.Faults;
using Relay.MockApns;
using Xunit.Abstractions;

namespace Relay.Api.Tests.Realtime;

/// <summary>
/// Two relay processes on one PostgreSQL and one Redis (<c>RELAY_TEST_REDIS</c>), as scale-out runs them, pushing to
/// one mock APNs.
/// </summary>
public sealed class ScaleOutRelays : IAsyncLifetime
{
    private readonly FixtureOutput _output = new();
    private TestDatabase _database = null!;
    private FaultRig _rig = null!;

    public static string Redis =>
        Environment.GetEnvironmentVariable("RELAY_TEST_REDIS") is { Length: > 0 } redis ? redis
            : throw new InvalidOperationException("Set RELAY_TEST_REDIS to a Redis for the scale-out tests (host:port), or run scripts/test.sh, which starts one.");

    public RelayProcess A { get; private set; } = null!;

    public RelayProcess B { get; private set; } = null!;

    public MockApnsServer Apns => _rig.Apns;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        _rig = await FaultRig.StartAsync(_output);
        (string, string)[] settings = [("Redis:Configuration", Redis), ("Realtime:AckTimeout", "00:00:01")];
        A = await _rig.StartRelayAsync("A", _database.ConnectionString, settings);
        B = await _rig.StartRelayAsync("B", _database.ConnectionString, settings);
    }

    public async Task<TestAccount> CreateAccountAsync() => (await FaultRig.CreateAccountAsync(A.Address)).Account;

    public async Task DisposeAsync()
    {
        await _rig.DisposeAsync();
        await _database.DisposeAsync();
    }

    private sealed class FixtureOutput : ITestOutputHelper
    {
        public void WriteLine(string message)
        {
        }

        public void WriteLine(string format, params object[] args)
        {
        }
    }
}

[Collection(ProcessFaults.Name)]
public sealed class ScaleOutTests(ScaleOutRelays relays, ITestOutputHelper output) : IClassFixture<ScaleOutRelays>
{
    private static readonly string Ciphertext = Convert.ToBase64String("scale-out ciphertext"u8.ToArray());


    [Fact]
    public async Task AMessagePostedOnAReachesADeviceConnectedToBWhoseAckMakesItDeliveredWithoutAPush()
    {
        var sender = await relays.CreateAccountAsync();
        var recipient = await relays.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var device = await ConnectAsync(relays.B.Address, recipient, deviceId, autoAck: true);

        var (status, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("delivered", body.GetProperty("deliveries")[0].GetProperty("status").GetString());
        Assert.Equal(body.GetProperty("messageId").GetGuid(), Assert.Single(device.MessageIds.Distinct()));
        await Task.Delay(1_500);
        Assert.Empty(relays.Apns.NotificationsFor(token));
    }

    [Fact]
    public async Task AnOfflineDevicesMessagePostedOnAIsServedByBsInboxAndASenderOnBGetsItsUpdates()
    {
        var sender = await relays.CreateAccountAsync();
        var (senderDevice, _) = await sender.RegisterDeviceAsync();
        var recipient = await relays.CreateAccountAsync();
        var (deviceId, token) = await recipient.RegisterDeviceAsync();
        await using var watcher = await ConnectAsync(relays.B.Address, sender, senderDevice);
        relays.Apns.Script(token, MockApnsBehavior.ServiceUnavailable.Times(2));

        var (_, body) = await sender.PostMessageAsync(new { to = new[] { recipient.AccountId }, ciphertext = Ciphertext });
        var messageId = body.GetProperty("messageId").GetGuid();
        Assert.Equal("retrying", body.GetProperty("deliveries")[0].GetProperty("status").GetString());

        var sent = await watcher.WaitForUpdateAsync(u => u.GetProperty("status").GetString() == "sent", TimeSpan.FromSeconds(15));
        Assert.NotNull(sent);
        // Two instances' dispatchers, one lease: the retry reached APNs once.
        Assert.Single(relays.Apns.NotificationsFor(token));

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
        var account = await relays.CreateAccountAsync();
        var (deleted, _) = await account.RegisterDeviceAsync();
        var (twice, _) = await account.RegisterDeviceAsync();
        await using var onB = await ConnectAsync(relays.B.Address, account, deleted);
        await using var olderOnB = await ConnectAsync(relays.B.Address, account, twice);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        (await account.Client.DeleteAsync($"/v1/devices/{deleted}")).EnsureSuccessStatusCode();
        await onB.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        output.WriteLine($"deleted on A, closed on B after {clock.ElapsedMilliseconds} ms");

        await using var newerOnA = await ConnectAsync(relays.A.Address, account, twice);
        await olderOnB.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(HubConnectionState.Connected, newerOnA.Connection.State);
    }

    [Fact]
    public async Task DeletingAnAccountOnAMakesBRefuseItsTokenAtOnceAndClosesItsConnectionOnB()
    {
        var other = await relays.CreateAccountAsync();
        var account = await relays.CreateAccountAsync();
        var (deviceId, _) = await account.RegisterDeviceAsync();
        using var onB = new HttpClient { BaseAddress = relays.B.Address };
        onB.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", account.Client.DefaultRequestHeaders.Authorization!.Parameter);
        await using var connected = await ConnectAsync(relays.B.Address, account, deviceId);
        // B has accepted the token before: nothing it remembers of it may outlive the account.
        Assert.Equal(HttpStatusCode.OK, (await onB.GetAsync("/v1/devices")).StatusCode);

        using var deleted = await account.Client.DeleteAsync("/v1/accounts/me");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);

        foreach (var request in new[]
        {
            new HttpRequestMessage(HttpMethod.Get, "/v1/devices"),
            new HttpRequestMessage(HttpMethod.Get, "/v1/accounts/me/delivery"),
            // The send checks its sender in its own lookup instead of the bearer check's.
            new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(new { to = new[] { other.AccountId }, ciphertext = Ciphertext }) },
            new HttpRequestMessage(HttpMethod.Post, $"/v1/realtime/negotiate?negotiateVersion=1&deviceId={deviceId}"),
        })
        {
            using var refused = await onB.SendAsync(request);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{request.Method} {request.RequestUri} on B: {(int)refused.StatusCode}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Account gone", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
        }

        await connected.ClosedAt.Task.WaitAsync(TimeSpan.FromSeconds(5));
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
