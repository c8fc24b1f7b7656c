using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using NSec.Cryptography;
using Relay.Client;

namespace Relay.Api.Tests.Sdk;

/// <summary>A relay for the SDK's tests: fast retries, a short ack timeout, no rate limit in the way.</summary>
public class SdkRelayFactory : RelayFactory
{
    public static readonly TimeSpan AckTimeout = TimeSpan.FromMilliseconds(800);

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
    [
        ("Delivery:RetryInitialDelay", "00:00:00.200"),
        ("Delivery:RetryMaxDelay", "00:00:01"),
        ("Realtime:AckTimeout", AckTimeout.ToString()),
        ("RateLimits:AccountPerMinute", "1000000"),
        .. MoreSettings,
    ];

    /// <summary>What a derived factory adds.</summary>
    protected virtual IEnumerable<(string Key, string Value)> MoreSettings => [];
}

/// <summary>
/// An app's account as the SDK holds it: an identity key, a <see cref="RelayClient"/> for it, and its devices with
/// their X25519 keys. Everything goes through the SDK.
/// </summary>
public sealed class SdkUser : IDisposable
{
    private SdkUser(RelayFactory relay, Uri? baseAddress, Action<RelayClientOptions>? configure)
    {
        IdentityKey = Key.Create(SignatureAlgorithm.Ed25519, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        Traffic = new RecordingHandler();
        var options = new RelayClientOptions
        {
            BaseAddress = baseAddress ?? relay.Address,
            IdentityKey = IdentityKey,
            HttpMessageHandler = Traffic,
            RetryInitialDelay = TimeSpan.FromMilliseconds(100),
            RealtimeReconnectDelays = [TimeSpan.Zero, TimeSpan.FromMilliseconds(200)],
        };
        configure?.Invoke(options);
        Relay = new RelayClient(options);
    }

    public Key IdentityKey { get; }

    public PublicKey PublicIdentityKey => IdentityKey.PublicKey;

    public RelayClient Relay { get; }

    /// <summary>Every request the SDK sent and the status it got.</summary>
    public RecordingHandler Traffic { get; }

    public Guid AccountId => Relay.AccountId!.Value;

    public List<SdkDevice> Devices { get; } = [];

    /// <summary>A new account, signed in.</summary>
    public static async Task<SdkUser> SignUpAsync(RelayFactory relay, Uri? baseAddress = null, Action<RelayClientOptions>? configure = null)
    {
        var user = new SdkUser(relay, baseAddress, configure);
        await user.Relay.SignInAsync();
        return user;
    }

    /// <summary>Registers a device with a fresh APNs token and a fresh X25519 key (not published).</summary>
    public async Task<SdkDevice> AddDeviceAsync()
    {
        var token = LogCapture.Secret(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
        var registration = await Relay.Devices.RegisterAsync(token, RelayFactory.ChatTopic, ApnsEnvironment.Production);
        var device = new SdkDevice(registration.DeviceId, token, DeviceKeyPair.Create());
        Devices.Add(device);
        return device;
    }

    /// <summary>Registers a device and publishes its key.</summary>
    public async Task<SdkDevice> AddDeviceWithKeyAsync()
    {
        var device = await AddDeviceAsync();
        await Relay.Devices.PublishKeyAsync(device.DeviceId, device.Key.PublicKey);
        return device;
    }

    public EnvelopeRecipient AsRecipient() => new(AccountId, PublicIdentityKey);

    public void Dispose()
    {
        Relay.Dispose();
        Traffic.Dispose();
        IdentityKey.Dispose();
    }
}

/// <summary>A device of an <see cref="SdkUser"/>.</summary>
public sealed record SdkDevice(Guid DeviceId, string Token, DeviceKeyPair Key);

/// <summary>Sends over real HTTP and records each request's method, path and answer status.</summary>
public sealed class RecordingHandler() : DelegatingHandler(new SocketsHttpHandler())
{
    public ConcurrentQueue<(string Method, string Path, HttpStatusCode Status, bool HadBearer)> Exchanges { get; } = new();

    public IReadOnlyList<string> Lines => [.. Exchanges.Select(e => $"{e.Method} {e.Path} {(int)e.Status}")];

    public void Clear() => Exchanges.Clear();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        Exchanges.Enqueue((request.Method.Method, request.RequestUri!.AbsolutePath, response.StatusCode, request.Headers.Authorization is not null));
        return response;
    }
}

/// <summary>What a push at the mock APNs carried.</summary>
public static class Pushes
{
    public static (Guid MessageId, byte[] Ciphertext) Read(Relay.MockApns.MockApnsNotification push)
    {
        var body = JsonDocument.Parse(push.BodyText).RootElement;
        return (body.GetProperty("messageId").GetGuid(), Convert.FromBase64String(body.GetProperty("ciphertext").GetString()!));
    }
}

/// <summary>Bounded waits for what arrives asynchronously.</summary>
public static class Eventually
{
    public static async Task<bool> TrueAsync(Func<bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow >= until)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public static async Task<bool> TrueAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow >= until)
            {
                return false;
            }

            await Task.Delay(50);
        }

        return true;
    }
}

/// <summary>
/// A TCP forwarder on loopback in front of the relay, so a test can cut the network under a connection: every
/// connection through it can be dropped at once, and new ones refused for a while.
/// </summary>
public sealed class LoopbackProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly ConcurrentDictionary<TcpClient, bool> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _forwarded;

    public LoopbackProxy(Uri target)
    {
        _targetPort = target.Port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>How many connections the proxy has forwarded.</summary>
    public int Forwarded => Volatile.Read(ref _forwarded);

    /// <summary>While set, connections are accepted and closed at once.</summary>
    public bool Refusing { get; set; }

    /// <summary>Cuts every connection through the proxy.</summary>
    public void DropAll()
    {
        foreach (var client in _open.Keys)
        {
            if (_open.TryRemove(client, out _))
            {
                Reset(client);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        DropAll();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The listener stopped under the accept loop, as intended.
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
            if (Refusing)
            {
                Reset(inbound);
                continue;
            }

            var outbound = new TcpClient();
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            }
            catch (SocketException)
            {
                inbound.Dispose();
                outbound.Dispose();
                continue;
            }

            Interlocked.Increment(ref _forwarded);
            _open[inbound] = true;
            _open[outbound] = true;
            _ = PumpAsync(inbound, outbound);
            _ = PumpAsync(outbound, inbound);
        }
    }

    /// <summary>Closes with a reset, as a network failure would, rather than a polite FIN.</summary>
    private static void Reset(TcpClient client)
    {
        try
        {
            client.Client?.LingerState = new LingerOption(true, 0);
        }
        catch (Exception e) when (e is ObjectDisposedException or SocketException)
        {
        }

        client.Dispose();
    }

    private async Task PumpAsync(TcpClient from, TcpClient to)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), _stop.Token);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException or InvalidOperationException or SocketException)
        {
        }
        finally
        {
            _open.TryRemove(from, out _);
            _open.TryRemove(to, out _);
            from.Dispose();
            to.Dispose();
        }
    }
}
