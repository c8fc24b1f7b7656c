using System.Diagnostics;
using System.Text.RegularExpressions;
using System.Threading.Channels;

namespace Relay.Api.Tests.Sdk;

/// <summary>
/// The console chat sample (samples/RelayChat) end to end: two real processes, the built RelayChat.dll on stdin and
/// stdout, through one relay. Texts arrive, a call rings on the other side within a second, and a restart keeps the
/// identity.
/// </summary>
public sealed partial class SampleChatTests(SdkRelayFactory relay) : IClassFixture<SdkRelayFactory>, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly string _state = Directory.CreateTempSubdirectory("relaychat-").FullName;

    [Fact]
    public async Task TwoChatsTextAndCallEachOtherThroughTheRelayAndACallRingsWithinASecond()
    {
        await using var alice = await ChatProcess.StartAsync(relay.Address, "alice", _state);
        await using var bob = await ChatProcess.StartAsync(relay.Address, "bob", _state);
        var (aliceId, aliceKey) = await alice.IntroductionAsync(Wait);
        var (bobId, bobKey) = await bob.IntroductionAsync(Wait);
        await alice.WaitForAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), Wait);
        await bob.WaitForAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), Wait);

        await alice.SendAsync($"/to {bobId} {bobKey}");
        await bob.SendAsync($"/to {aliceId} {aliceKey}");
        await alice.WaitForAsync(l => l == $"Talking to {bobId}.", Wait);
        await bob.WaitForAsync(l => l == $"Talking to {aliceId}.", Wait);

        await alice.SendAsync("hello bob, are you there?");
        Assert.Equal("[alice] hello bob, are you there?", await bob.WaitForAsync(l => l.StartsWith("[alice]", StringComparison.Ordinal), Wait));
        Assert.Equal("(message to 1 device(s): delivered)", await alice.WaitForAsync(l => l.StartsWith("(message", StringComparison.Ordinal), Wait));
        await bob.SendAsync("yes, call me");
        Assert.Equal("[bob] yes, call me", await alice.WaitForAsync(l => l.StartsWith("[bob]", StringComparison.Ordinal), Wait));

        var called = Stopwatch.StartNew();
        await alice.SendAsync("/call");
        var ringing = await bob.WaitForAsync(l => l.StartsWith("RINGING", StringComparison.Ordinal), Wait);
        var rang = called.Elapsed;
        Assert.Equal($"RINGING from alice ({aliceId})", ringing);
        Assert.True(rang < TimeSpan.FromSeconds(1), $"rang after {rang}");
        await alice.SendAsync("/hangup");
        Assert.Equal($"Call from alice ({aliceId}) ended", await bob.WaitForAsync(l => l.StartsWith("Call from", StringComparison.Ordinal), Wait));

        Assert.Equal(0, await alice.QuitAsync(Wait));
        Assert.Equal(0, await bob.QuitAsync(Wait));
        Assert.Empty(alice.Errors);
        Assert.Empty(bob.Errors);

        // The identity file makes a restart the same account, and what arrived while it was away comes from the inbox.
        await using var bobAgain = await ChatProcess.StartAsync(relay.Address, "bob", _state);
        Assert.Equal(bobId, (await bobAgain.IntroductionAsync(Wait)).AccountId);
        Assert.Equal(0, await bobAgain.QuitAsync(Wait));
    }

    [Fact]
    public async Task MessagesSentWhileTheOtherChatIsClosedArriveFromItsInboxWhenItStarts()
    {
        await using var carol = await ChatProcess.StartAsync(relay.Address, "carol", _state);
        await using (var dave = await ChatProcess.StartAsync(relay.Address, "dave", _state))
        {
            var (daveId, daveKey) = await dave.IntroductionAsync(Wait);
            await dave.WaitForAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), Wait);
            Assert.Equal(0, await dave.QuitAsync(Wait));
            await carol.IntroductionAsync(Wait);
            await carol.WaitForAsync(l => l.StartsWith("Ready.", StringComparison.Ordinal), Wait);
            await carol.SendAsync($"/to {daveId} {daveKey}");
            await carol.SendAsync("are you there?");
            Assert.Equal("(message to 1 device(s): sent)", await carol.WaitForAsync(l => l.StartsWith("(message", StringComparison.Ordinal), Wait));
        }

        await using var daveAgain = await ChatProcess.StartAsync(relay.Address, "dave", _state);

        Assert.Equal("[carol] are you there?", await daveAgain.WaitForAsync(l => l.StartsWith("[carol]", StringComparison.Ordinal), Wait));
        Assert.Equal(0, await daveAgain.QuitAsync(Wait));
        Assert.Equal(0, await carol.QuitAsync(Wait));
    }

    public void Dispose() => Directory.Delete(_state, recursive: true);

    /// <summary>One RelayChat process, its stdin, and its stdout as lines.</summary>
    private sealed partial class ChatProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
        private readonly List<string> _seen = [];
        private readonly Task<string> _errors;

        private ChatProcess(Process process)
        {
            _process = process;
            _errors = process.StandardError.ReadToEndAsync();
            _ = PumpAsync();
        }

        public string Errors => _errors.IsCompleted ? _errors.Result : "";

        public static Task<ChatProcess> StartAsync(Uri relay, string name, string state)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "RelayChat.dll"), "--relay", relay.ToString(), "--name", name, "--state-dir", state, "--environment", "production" })
            {
                start.ArgumentList.Add(argument);
            }

            return Task.FromResult(new ChatProcess(Process.Start(start)!));
        }

        /// <summary>The account id and identity key the chat prints for its contacts.</summary>
        public async Task<(Guid AccountId, string IdentityKey)> IntroductionAsync(TimeSpan timeout)
        {
            var line = await WaitForAsync(l => l.StartsWith("Others reach you with: /to ", StringComparison.Ordinal), timeout);
            var match = Introduction().Match(line);
            Assert.True(match.Success, line);
            return (Guid.Parse(match.Groups[1].Value), match.Groups[2].Value);
        }

        public async Task SendAsync(string line)
        {
            await _process.StandardInput.WriteLineAsync(line);
            await _process.StandardInput.FlushAsync();
        }

        /// <summary>The first line from now on that matches, within <paramref name="timeout"/>.</summary>
        public async Task<string> WaitForAsync(Func<string, bool> match, TimeSpan timeout)
        {
            using var deadline = new CancellationTokenSource(timeout);
            try
            {
                while (true)
                {
                    var line = await _lines.Reader.ReadAsync(deadline.Token);
                    if (match(line))
                    {
                        return line;
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                throw new Xunit.Sdk.XunitException(
                    $"No such line within {timeout}. Output so far:\n{string.Join('\n', Seen())}\nErrors:\n{Errors}");
            }
        }

        public async Task<int> QuitAsync(TimeSpan timeout)
        {
            await SendAsync("/quit");
            using var deadline = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(deadline.Token);
            await _errors;
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        private string[] Seen()
        {
            lock (_seen)
            {
                return [.. _seen];
            }
        }

        private async Task PumpAsync()
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (_seen)
                {
                    _seen.Add(line);
                }

                await _lines.Writer.WriteAsync(line);
            }

            _lines.Writer.Complete();
        }

        [GeneratedRegex("^Others reach you with: /to ([0-9a-f-]{36}) ([A-Za-z0-9+/=]{44})$")]
        private static partial Regex Introduction();
    }
}
