using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Relay.Api.Auth;
using Relay.Api.Configuration;
using Serilog.Events;
using Xunit.Abstractions;

namespace Relay.Api.Tests;

/// <summary>The relay for the generated suite: no per-account limit gets in the way of thousands of requests.</summary>
public class GeneratedInputRelayFactory : RelayFactory
{
    protected override IEnumerable<(string Key, string Value)> ExtraSettings => [("RateLimits:AccountPerMinute", "10000000")];
}

public sealed class DevelopmentGeneratedInputRelayFactory : GeneratedInputRelayFactory
{
    protected override string EnvironmentName => "Development";
}

public sealed class ProductionGeneratedInputRelayFactory : GeneratedInputRelayFactory
{
    protected override string EnvironmentName => "Production";
}

/// <summary>
/// Thousands of seeded bad requests over every endpoint: none answers 5xx, every 4xx is a problem+json with a title
/// (and a 400 says what is wrong), and nothing is stored or pushed.
/// </summary>
public abstract class GeneratedBadInputTests(RelayFactory relay, ITestOutputHelper output)
{
    public const int Seed = 20261202;
    public const int RequestsPerEnvironment = 6000;
    private const int Concurrency = 16;

    [Fact]
    public async Task SeededBadRequestsNeverAnswer5xxAlwaysAnswerProblemsAndStoreNothing()
    {
        var me = await relay.CreateAccountAsync();
        var recipient = await relay.CreateAccountAsync();
        await me.RegisterDeviceAsync();
        await recipient.RegisterDeviceAsync();
        await recipient.RegisterDeviceAsync(environment: "sandbox");
        var gone = await relay.CreateAccountAsync();
        var goneBearer = gone.Client.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.Equal(1, await relay.Database.ExecuteAsync("DELETE FROM accounts WHERE id = $1", gone.AccountId));
        var auth = relay.Services.GetRequiredService<IOptions<AuthOptions>>();
        var expired = LogCapture.Secret(new BearerTokens(auth, new FakeTimeProvider(DateTimeOffset.UtcNow.AddHours(-5))).Issue(me.AccountId).Token);
        var foreignKey = Options.Create(new AuthOptions { SigningKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)) });
        var foreign = LogCapture.Secret(new BearerTokens(foreignKey, TimeProvider.System).Issue(me.AccountId).Token);
        var context = new GeneratorContext(me.AccountId, recipient.AccountId, gone.AccountId,
            me.Client.DefaultRequestHeaders.Authorization!.Parameter!, expired, foreign, goneBearer);

        var before = await CountsAsync();
        var pushedBefore = relay.Production.Counters.Requests + relay.Sandbox.Counters.Requests;
        var errorsBefore = relay.Logs.Events.Count(e => e.Level >= LogEventLevel.Error);
        var generator = new BadRequestGenerator(Seed, context);
        var requests = Enumerable.Range(0, RequestsPerEnvironment).Select(_ => generator.Next()).ToList();
        output.WriteLine($"Seed {Seed}: {requests.Count} requests, {Concurrency} at a time.");

        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var retried = new StrongBox<int>();
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Concurrency }) { BaseAddress = relay.Address };
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(requests, new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (generated, cancellationToken) =>
        {
            var failure = await SendAsync(client, generated, statuses, retried, cancellationToken);
            if (failure is not null)
            {
                failures.Enqueue($"{failure} <- {generated.Describe()}");
            }
        });
        clock.Stop();

        output.WriteLine($"{requests.Count} requests in {clock.Elapsed.TotalSeconds:0.0} s ({retried.Value} sent again after the server closed a kept-alive connection); statuses: "
            + string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}×{s.Value}")));
        Assert.True(failures.IsEmpty, $"Seed {Seed}: {failures.Count} of {requests.Count} requests failed; the first:\n" + string.Join("\n", failures.Take(15)));
        Assert.Equal(before, await CountsAsync());
        Assert.Equal(pushedBefore, relay.Production.Counters.Requests + relay.Sandbox.Counters.Requests);
        var errors = relay.Logs.Events.Where(e => e.Level >= LogEventLevel.Error).Skip(errorsBefore).Take(5).ToList();
        Assert.True(errors.Count == 0, "Bad input logged an error: " + string.Join("\n", errors.Select(e => e.RenderMessage() + " " + e.Exception)));
    }

    private static async Task<string?> SendAsync(
        HttpClient client, GeneratedRequest generated, ConcurrentDictionary<int, int> statuses, StrongBox<int> retried, CancellationToken cancellationToken)
    {
        HttpResponseMessage response;
        for (var attempt = 1; ; attempt++)
        {
            using var request = Build(generated);
            try
            {
                response = await client.SendAsync(request, cancellationToken);
                break;
            }
            catch (HttpRequestException) when (attempt < 3)
            {
                // Kestrel closes a kept-alive connection after answering early a request whose body it will not read
                // (over the limit, or a refused bearer); the next request sent on it finds it gone. That is HTTP, not
                // an answer of the relay: send again on another connection.
                Interlocked.Increment(ref retried.Value);
            }
            catch (HttpRequestException e)
            {
                return $"no answer ({e.Message} {e.InnerException?.GetType().Name}: {e.InnerException?.Message})";
            }
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (status >= 500)
            {
                return $"{status} {text[..Math.Min(text.Length, 300)]}";
            }

            if (generated.IsHealth)
            {
                return status == 200 ? null : $"health answered {status}";
            }

            if (status is < 400 or >= 500)
            {
                return $"bad input answered {status}: {text[..Math.Min(text.Length, 200)]}";
            }

            if (response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                return $"{status} as {response.Content.Headers.ContentType?.ToString() ?? "(no content type)"}";
            }

            using var problem = System.Text.Json.JsonDocument.Parse(text);
            var root = problem.RootElement;
            var title = root.TryGetProperty("title", out var t) ? t.GetString() : null;
            if (string.IsNullOrWhiteSpace(title))
            {
                return $"{status} problem without a title: {text[..Math.Min(text.Length, 200)]}";
            }

            if (status == 400 && !root.TryGetProperty("detail", out _) && !root.TryGetProperty("errors", out _))
            {
                return $"400 says neither detail nor errors: {text[..Math.Min(text.Length, 200)]}";
            }

            return null;
        }
    }

    private static HttpRequestMessage Build(GeneratedRequest generated)
    {
        var request = new HttpRequestMessage(new HttpMethod(generated.Method), generated.Path);
        if (generated.Authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", generated.Authorization);
        }

        foreach (var (name, value) in generated.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (generated.Body is not null)
        {
            request.Content = new ByteArrayContent(generated.Body);
            if (generated.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", generated.ContentType);
            }
        }

        return request;
    }

    private async Task<(long, long, long, long, long)> CountsAsync() =>
        (await relay.Database.CountAsync("accounts"), await relay.Database.CountAsync("devices"), await relay.Database.CountAsync("messages"),
            await relay.Database.CountAsync("deliveries"), await relay.Database.CountAsync("auth_challenges"));
}

public sealed class GeneratedBadInputInDevelopmentTests(DevelopmentGeneratedInputRelayFactory relay, ITestOutputHelper output)
    : GeneratedBadInputTests(relay, output), IClassFixture<DevelopmentGeneratedInputRelayFactory>;

public sealed class GeneratedBadInputInProductionTests(ProductionGeneratedInputRelayFactory relay, ITestOutputHelper output)
    : GeneratedBadInputTests(relay, output), IClassFixture<ProductionGeneratedInputRelayFactory>;
