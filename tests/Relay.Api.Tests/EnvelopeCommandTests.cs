using System.Security.Cryptography;
using System.Text.Json;
using Relay.Client;

namespace Relay.Api.Tests;

/// <summary><c>relayctl envelope seal|open</c> run as the built relayctl.dll, the way an app developer runs it.</summary>
public sealed class EnvelopeCommandTests
{
    private static readonly Guid Sender = Guid.Parse("0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60");
    private static readonly string Body = Convert.ToBase64String("ring ring"u8);

    [Fact]
    public async Task WhatSealPrintsOpensWithTheDevicesPrivateKey()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        var seal = await RelayctlAsync("envelope", "seal", "--public-key", publicKey, "--kind", "call", "--sender", Sender.ToString(), "--body", Body);
        var open = await RelayctlAsync("envelope", "open", "--private-key", privateKey, "--ciphertext", seal.Output.Trim());

        Assert.Equal((0, ""), (seal.ExitCode, seal.Errors));
        Assert.Equal(256 + RelayEnvelope.Overhead, Convert.FromBase64String(seal.Output.Trim()).Length);
        Assert.Equal((0, ""), (open.ExitCode, open.Errors));
        var json = JsonDocument.Parse(open.Output).RootElement;
        Assert.Equal(1, json.GetProperty("v").GetInt32());
        Assert.Equal("call", json.GetProperty("kind").GetString());
        Assert.Equal(Sender, json.GetProperty("sender").GetGuid());
        Assert.InRange(json.GetProperty("sentAt").GetInt64(), before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Assert.Equal(Body, json.GetProperty("body").GetString());
        Assert.Equal("ring ring"u8.ToArray(), RelayEnvelope.Open(Convert.FromBase64String(privateKey), Convert.FromBase64String(seal.Output.Trim())).Body.ToArray());
    }

    [Fact]
    public async Task SizeIsThePaddedPlaintextLengthAndOpenReadsWhatTheSdkSealed()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        var sealedBySdk = RelayEnvelope.Seal(
            Convert.FromBase64String(publicKey),
            new EnvelopePlaintext(EnvelopeKind.CallCancel, Sender, DateTimeOffset.FromUnixTimeMilliseconds(1_764_633_600_000), "bye"u8.ToArray()));

        var seal = await RelayctlAsync("envelope", "seal", "--public-key", publicKey, "--kind", "message", "--sender", Sender.ToString(), "--body", Body, "--size", "1000");
        var open = await RelayctlAsync("envelope", "open", "--private-key", privateKey, "--ciphertext", Convert.ToBase64String(sealedBySdk));
        var tooSmall = await RelayctlAsync("envelope", "seal", "--public-key", publicKey, "--kind", "message", "--sender", Sender.ToString(), "--body", Body, "--size", "100");

        Assert.Equal(0, seal.ExitCode);
        Assert.Equal(1000 + RelayEnvelope.Overhead, Convert.FromBase64String(seal.Output.Trim()).Length);
        Assert.Equal(0, open.ExitCode);
        Assert.Equal(
            """{"v":1,"kind":"call-cancel","sender":"0b7a6c1e-93d4-4f57-9a0e-5d2c8b1f4e60","sentAt":1764633600000,"body":"Ynll"}""",
            open.Output.Trim());
        Assert.Equal(2, tooSmall.ExitCode);
        Assert.StartsWith("relayctl: --size 100 does not hold the ", Assert.Single(ErrorLines(tooSmall)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AWrongPrivateKeyFailsWithOneLineOnStderrAndExitOne()
    {
        var (_, publicKey) = NewDeviceKey();
        var (otherPrivateKey, _) = NewDeviceKey();
        var seal = await RelayctlAsync("envelope", "seal", "--public-key", publicKey, "--kind", "message", "--sender", Sender.ToString(), "--body", Body);

        var open = await RelayctlAsync("envelope", "open", "--private-key", otherPrivateKey, "--ciphertext", seal.Output.Trim());

        Assert.Equal(1, open.ExitCode);
        Assert.Equal("", open.Output);
        Assert.Equal(
            "relayctl: The envelope does not open with this private key: sealed to another key, or altered.",
            Assert.Single(ErrorLines(open)));
    }

    [Fact]
    public async Task BadBase64OrAnUnknownKindIsAUsageErrorNamingTheOption()
    {
        var (privateKey, publicKey) = NewDeviceKey();
        string[] seal = ["envelope", "seal", "--public-key", publicKey, "--kind", "message", "--sender", Sender.ToString(), "--body", Body];

        var runs = new (string Option, ChildProcess.Result Run)[]
        {
            ("--public-key", await RelayctlAsync(With(seal, "--public-key", "not base64!"))),
            ("--public-key", await RelayctlAsync(With(seal, "--public-key", Convert.ToBase64String(new byte[31])))),
            ("--body", await RelayctlAsync(With(seal, "--body", "%%%"))),
            ("sms", await RelayctlAsync(With(seal, "--kind", "sms"))),
            ("--private-key", await RelayctlAsync("envelope", "open", "--private-key", "*", "--ciphertext", Body)),
            ("--ciphertext", await RelayctlAsync("envelope", "open", "--private-key", privateKey, "--ciphertext", "a b c")),
        };

        Assert.All(runs, r =>
        {
            Assert.Equal(2, r.Run.ExitCode);
            Assert.Equal("", r.Run.Output);
            var error = Assert.Single(ErrorLines(r.Run));
            Assert.StartsWith("relayctl: ", error, StringComparison.Ordinal);
            Assert.Contains(r.Option, error, StringComparison.Ordinal);
        });
    }

    private static string[] With(string[] args, string option, string value)
    {
        var copy = (string[])args.Clone();
        copy[Array.IndexOf(copy, option) + 1] = value;
        return copy;
    }

    private static (string PrivateKey, string PublicKey) NewDeviceKey()
    {
        var privateKey = RandomNumberGenerator.GetBytes(RelayEnvelope.KeyLength);
        return (Convert.ToBase64String(privateKey), Convert.ToBase64String(RelayEnvelope.GetPublicKey(privateKey)));
    }

    private static string[] ErrorLines(ChildProcess.Result run) => run.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Runs the built relayctl.dll (copied beside the tests by the project reference).</summary>
    private static Task<ChildProcess.Result> RelayctlAsync(params string[] args) =>
        ChildProcess.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "relayctl.dll"), .. args], TimeSpan.FromSeconds(60));
}
