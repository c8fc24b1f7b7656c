using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Relay.MockApns;

/// <summary>
/// A strict stand-in for Apple's APNs provider API: HTTP/2 over TLS, <c>POST /3/device/{token}</c> with ES256
/// provider tokens, Apple's status codes and reasons, scripted failures, and a record of what it accepted.
/// Start one per test (or per test class) with <see cref="StartAsync"/>; it listens on loopback by default.
/// </summary>
public sealed class MockApnsServer : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly WebApplication _app;
    private readonly Statistics _statistics = new();
    private readonly ScriptBook _scripts = new();
    private readonly NotificationLog _log;
    private readonly ProviderTokenVerifier _tokens;
    private int _disposed;

    private MockApnsServer(MockApnsOptions options)
    {
        Options = options;
        _log = new NotificationLog(options.MaxRecordedNotifications);
        _tokens = new ProviderTokenVerifier(options, _statistics);
        var connections = new ConnectionRegistry(_statistics, options.TimeProvider);
        var handler = new ApnsRequestHandler(options, _tokens, connections, _scripts, _log, _statistics);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(MockApnsServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Nothing from appsettings.json or ASPNETCORE_* of the host process (a test project's Kestrel endpoints,
        // URLs) may leak into the mock: it is configured from MockApnsOptions only.
        builder.Configuration.Sources.Clear();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.RemoveAll<IHostLifetime>();
        builder.Services.AddSingleton<IHostLifetime, QuietHostLifetime>();
        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = StopTimeout);
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.TypeInfoResolverChain.Insert(0, ControlJsonContext.Default));
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 16 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 1024 * 1024;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.Limits.MinResponseDataRate = null;
            kestrel.Limits.KeepAliveTimeout = TimeSpan.FromHours(1);
            kestrel.Listen(options.Host, options.Port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                listen.Use(connections.Middleware);
                listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = options.ServerCertificate });
            });
        });

        _app = builder.Build();
        _app.MapControlEndpoints(this);
        _app.MapFallback("{**path}", new RequestDelegate(handler.HandleAsync));
    }

    /// <summary>The options the server was started with.</summary>
    public MockApnsOptions Options { get; }

    /// <summary>The TCP port it listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Where to send pushes, e.g. <c>https://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The accepted notifications, oldest first (at most <see cref="MockApnsOptions.MaxRecordedNotifications"/>).</summary>
    public IReadOnlyList<MockApnsNotification> Notifications => _log.Snapshot();

    /// <summary>A snapshot of the counters.</summary>
    public MockApnsCounters Counters => _statistics.Snapshot();

    /// <summary>Starts a server; dispose it to stop.</summary>
    public static async Task<MockApnsServer> StartAsync(MockApnsOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);
        var server = new MockApnsServer(options);
        try
        {
            await server._app.StartAsync(cancellationToken);
            server.ReadAddress();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>The accepted notifications for one device token (case-insensitive), oldest first.</summary>
    public IReadOnlyList<MockApnsNotification> NotificationsFor(string deviceToken) =>
        _log.Snapshot().Where(n => string.Equals(n.DeviceToken, deviceToken, StringComparison.OrdinalIgnoreCase)).ToArray();

    /// <summary>
    /// Waits until at least <paramref name="count"/> notifications for <paramref name="deviceToken"/> were accepted.
    /// </summary>
    /// <exception cref="TimeoutException">Fewer arrived within <paramref name="timeout"/>.</exception>
    public async Task<IReadOnlyList<MockApnsNotification>> WaitForNotificationsAsync(
        string deviceToken, int count, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = NotificationsFor(deviceToken);
            if (found.Count >= count)
            {
                return found;
            }

            if (DateTime.UtcNow >= deadline)
            {
                throw new TimeoutException(
                    $"Expected {count} notification(s) for {deviceToken} within {timeout}, got {found.Count}.");
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>Forgets recorded notifications and zeroes the counters (scripts and faults stay).</summary>
    public void Clear()
    {
        _log.Clear();
        _statistics.Reset();
        _tokens.Clear();
    }

    /// <summary>Answers requests for <paramref name="deviceToken"/> (case-insensitive) with <paramref name="behavior"/>.</summary>
    public void Script(string deviceToken, MockApnsBehavior behavior)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(deviceToken);
        ArgumentNullException.ThrowIfNull(behavior);
        _scripts.Set(deviceToken, behavior);
    }

    /// <summary>Removes the script of one device token; true if it had one.</summary>
    public bool ClearScript(string deviceToken) => _scripts.Remove(deviceToken);

    /// <summary>Removes every device token's script.</summary>
    public void ClearScripts() => _scripts.Clear();

    /// <summary>Applies <paramref name="fault"/> to every <paramref name="every"/>-th valid request without a script.</summary>
    public void InjectFaultEvery(int every, MockApnsFault fault) => InjectFaultEvery(every, MockApnsBehavior.For(fault));

    /// <summary>Applies <paramref name="behavior"/> to every <paramref name="every"/>-th valid request without a script.</summary>
    public void InjectFaultEvery(int every, MockApnsBehavior behavior)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(every, 1);
        ArgumentNullException.ThrowIfNull(behavior);
        _scripts.SetFault(every, behavior);
    }

    /// <summary>Stops the global fault injection.</summary>
    public void StopInjectingFaults() => _scripts.ClearFault();

    /// <summary>Stops listening and releases the server.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        using (var timeout = new CancellationTokenSource(StopTimeout))
        {
            try
            {
                await _app.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Connections that did not close in time are dropped by DisposeAsync below.
            }
        }

        await _app.DisposeAsync();
        _tokens.Dispose();
    }

    private void ReadAddress()
    {
        var addresses = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>();
        Port = new Uri(addresses.Addresses.First()).Port;
        var host = Options.Host switch
        {
            var any when any.Equals(IPAddress.Any) => "127.0.0.1",
            var any when any.Equals(IPAddress.IPv6Any) => "[::1]",
            { AddressFamily: AddressFamily.InterNetworkV6 } ipv6 => $"[{ipv6}]",
            var address => address.ToString(),
        };
        BaseAddress = new Uri($"https://{host}:{Port}/");
    }

    private static void Validate(MockApnsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options.ServerCertificate);
        if (!options.ServerCertificate.HasPrivateKey)
        {
            throw new ArgumentException("The server certificate needs its private key.", nameof(options));
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(options.TeamId);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.KeyId);
        ArgumentNullException.ThrowIfNull(options.Host);
        ArgumentNullException.ThrowIfNull(options.Topics);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port, IPEndPoint.MaxPort);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxRecordedNotifications, 1);
    }

    /// <summary>No Ctrl-C/SIGTERM hooks: an in-process mock stops when disposed, the CLI handles signals itself.</summary>
    private sealed class QuietHostLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
