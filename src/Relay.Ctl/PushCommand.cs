using System.Buffers.Text;
using System.CommandLine;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Relay.Apns;
using Relay.Data;

namespace Relay.Ctl;

/// <summary>
/// <c>relayctl push --device &lt;id&gt;</c>: sends one test push through <see cref="ApnsClient"/>, prints APNs's answer
/// and, as the relay does, records a success or invalidates a dead token.
/// </summary>
internal static class PushCommand
{
    public static Command Create(CtlConsole console)
    {
        var command = new Command("push", "Sends a test push to one device and prints APNs's answer. Exit 0 when APNs accepted it.");
        var device = new Option<Guid>("--device") { Description = "The device id (relayctl devices list shows them).", Required = true };
        var ciphertext = new Option<string?>("--ciphertext")
        {
            Description = "The base64 ciphertext to carry; default: random bytes, which the app's extension cannot decrypt, so it shows the fallback alert.",
        };
        var ttl = new Option<int>("--ttl")
        {
            Description = "Seconds APNs keeps the push for an offline device (apns-expiration); 0 = now or never.",
            DefaultValueFactory = _ => 300,
        };
        var force = new Option<bool>("--force") { Description = "Push to an invalidated device too." };
        command.Options.Add(device);
        command.Options.Add(ciphertext);
        command.Options.Add(ttl);
        command.Options.Add(force);
        var settings = new SettingsOptions(command, apns: true);
        command.SetAction((parse, cancellationToken) => RunAsync(
            console, settings.Read(parse, console),
            new Request(parse.GetValue(device), parse.GetValue(ciphertext), parse.GetValue(ttl), parse.GetValue(force)),
            cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(CtlConsole console, IConfiguration configuration, Request request, CancellationToken cancellationToken)
    {
        if (request.TtlSeconds is < 0 or > 2_592_000)
        {
            throw CtlException.Usage("--ttl must be 0 to 2592000 seconds.");
        }

        if (request.Ciphertext is { } given && (given.Length == 0 || !Base64.IsValid(given)))
        {
            throw CtlException.Usage("--ciphertext must be standard base64.");
        }

        var settings = ApnsSettings.Read(configuration);
        if (settings.Validate() is [var first, ..] failures)
        {
            throw new CtlException(failures.Count == 1 ? first : $"{first} (and {failures.Count - 1} more: run relayctl check)");
        }

        await using var db = await RelayDatabase.OpenAsync(configuration, cancellationToken);
        var target = await db.Devices.AsNoTracking().Where(d => d.Id == request.DeviceId).SingleOrDefaultAsync(cancellationToken)
            ?? throw new CtlException($"no device {request.DeviceId}");
        if (target.InvalidatedAt is { } invalidatedAt && !request.Force)
        {
            throw new CtlException(
                $"device {target.Id} was invalidated at {Text.Time(invalidatedAt)} ({target.InvalidReason}); the relay sends it nothing (--force pushes anyway)");
        }

        var environment = target.Environment;
        var payload = settings.PayloadFor(target.Topic);
        var ciphertext = request.Ciphertext ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        if (ciphertext.Length > payload.MaxCiphertextLength)
        {
            throw CtlException.Usage($"--ciphertext is {ciphertext.Length} characters; at most {payload.MaxCiphertextLength} fit in an APNs payload for {target.Topic}.");
        }

        var output = console.Out;
        output.WriteLine($"device   {target.Id}  {target.Topic}  {environment.ToText()}  token {target.Token[..8]}…");
        if (settings.Apps.Find(target.Topic) is null)
        {
            output.WriteLine($"note     topic {target.Topic} is not in Apns:Apps (the relay sends it nothing); using the default alert");
        }

        var messageId = Guid.NewGuid();
        var notification = new ApnsNotification
        {
            DeviceToken = target.Token,
            Topic = target.Topic,
            Environment = environment,
            Expiration = request.TtlSeconds == 0 ? 0 : DateTimeOffset.UtcNow.ToUnixTimeSeconds() + request.TtlSeconds,
            Payload = payload.Build(ciphertext, messageId),
        };
        output.WriteLine($"sending  message {messageId} to {settings.EndpointText(environment)}, apns-id {notification.ApnsId}");

        ApnsResponse response;
        using (var client = settings.CreateClient())
        {
            try
            {
                response = await client.SendAsync(notification, cancellationToken);
            }
            catch (ApnsException e)
            {
                throw new CtlException($"APNs endpoint {settings.EndpointText(environment)} unreachable ({ApnsText.NoAnswer(e, settings.Options)})");
            }
        }

        output.WriteLine($"answer   {ApnsText.Answer(response)}{(response.IsAccepted ? " accepted" : "")}, apns-id {response.ApnsId}");
        var recorded = await RecordAsync(db, target, response, cancellationToken);
        output.WriteLine($"recorded {recorded}");
        if (response.IsAccepted)
        {
            return RelayCtl.Success;
        }

        var meaning = response.Outcome == ApnsOutcome.ConfigurationFault ? ApnsText.Meaning(response, target.Topic) : recorded;
        console.Fail($"APNs rejected the push to device {target.Id}: {ApnsText.Answer(response)} ({meaning})");
        return RelayCtl.Failure;
    }

    /// <summary>
    /// What the relay itself writes back, judged by the same <see cref="DeliveryPolicy"/>: a success, or a dead
    /// token's invalidation.
    /// </summary>
    private static async Task<string> RecordAsync(RelayDbContext db, Device target, ApnsResponse response, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var verdict = Policy.Judge(response, attempts: 1, now, retryUntil: now);
        switch (verdict.Device)
        {
            case DeviceVerdictKind.Succeeded:
                await db.Devices.RecordSuccessAsync([target.Id], now, cancellationToken);
                return $"last success at {Text.Time(now)}";
            case DeviceVerdictKind.Invalidate:
                return await DeliveryPolicy.InvalidateIfDeadAsync(db.Devices, target.Id, verdict, now, cancellationToken) ? $"device invalidated ({verdict.Reason})"
                    : target.InvalidatedAt is not null ? "device was already invalidated"
                    : $"device kept: it registered again after APNs's timestamp {Text.Time(response.TokenInvalidatedAt)}";
            default:
                return $"nothing: {response.Outcome} does not change the device";
        }
    }

    // Only the device side of the verdict matters for a single test push, so the retry delays are never used.
    private static readonly DeliveryPolicy Policy = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5));

    private sealed record Request(Guid DeviceId, string? Ciphertext, int TtlSeconds, bool Force);
}
