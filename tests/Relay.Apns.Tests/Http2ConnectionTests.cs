using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using Relay.Apns.Http2;

namespace Relay.Apns.Tests;

/// <summary>
/// The client's HTTP/2 against a peer that does, frame by frame, what Kestrel never does on its own: the parts of
/// RFC 9113 and RFC 7541 a real APNs server may use.
/// </summary>
public sealed class Http2ConnectionTests(MockApnsFixture apns) : IClassFixture<MockApnsFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ResponseHeadersSplitIntoPaddedHeadersAndContinuationWithAPaddedBodyAreRead()
    {
        var notification = TestNotifications.For();
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync();
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            await c.ReadBodyAsync(headers.StreamId);
            var block = RawHttp2Peer.Connection.Block(400, ("apns-id", notification.ApnsId.ToString("D")));
            var half = block.Length / 2;
            await c.WriteFrameAsync(Http2Frames.Headers, Http2Frames.Padded, headers.StreamId, (byte[])[3, .. block[..half], 0, 0, 0]);
            await c.WriteFrameAsync(Http2Frames.Continuation, Http2Frames.EndHeaders, headers.StreamId, block.AsMemory(half));
            var body = Encoding.UTF8.GetBytes("""{"reason":"BadDeviceToken"}""");
            await c.WriteFrameAsync(Http2Frames.Data, Http2Frames.Padded | Http2Frames.EndStream, headers.StreamId, (byte[])[5, .. body, 0, 0, 0, 0, 0]);
            await c.ReadFrameAsync();
        });
        using var client = CreateClient(peer);

        var response = await client.SendAsync(notification).WaitAsync(Patience);

        Assert.Equal(400, response.StatusCode);
        Assert.Equal(ApnsRejectionReason.BadDeviceToken, response.Reason);
        Assert.Equal(notification.ApnsId, response.ApnsId);
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task HuffmanCodedResponseHeadersAndOnesFromTheDynamicTableAreRead()
    {
        var first = TestNotifications.For();
        var second = TestNotifications.For();
        var unregistered = Encoding.UTF8.GetBytes("""{"reason":"Unregistered","timestamp":1700000000000}""");
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync();
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            await c.ReadBodyAsync(headers.StreamId);

            // :status 410 and apns-id as literals with incremental indexing, their values Huffman-coded: the table
            // is then [62] apns-id, [63] :status 410.
            byte[] block = [0x48, .. HuffmanString("410"), 0x40, 7, .. "apns-id"u8, .. HuffmanString(first.ApnsId.ToString("D"))];
            await c.WriteFrameAsync(Http2Frames.Headers, Http2Frames.EndHeaders, headers.StreamId, block);
            await c.WriteFrameAsync(Http2Frames.Data, Http2Frames.EndStream, headers.StreamId, unregistered);

            // The second answer is two indexed fields from that table only.
            headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            await c.ReadBodyAsync(headers.StreamId);
            await c.WriteFrameAsync(Http2Frames.Headers, Http2Frames.EndHeaders, headers.StreamId, (byte[])[0x80 | 63, 0x80 | 62]);
            await c.WriteFrameAsync(Http2Frames.Data, Http2Frames.EndStream, headers.StreamId, unregistered);
            await c.ReadFrameAsync();
        });
        using var client = CreateClient(peer);

        var answers = new[] { await client.SendAsync(first).WaitAsync(Patience), await client.SendAsync(second).WaitAsync(Patience) };

        Assert.All(answers, a => Assert.Equal(410, a.StatusCode));
        Assert.All(answers, a => Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000000000), a.TokenInvalidatedAt));
        Assert.Equal(first.ApnsId, answers[0].ApnsId);

        // Echoed from the table: the first notification's id, which only decoding entry 62 can give.
        Assert.Equal(first.ApnsId, answers[1].ApnsId);
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task ThePeersStreamLimitQueuesRequestsInsteadOfOpeningMoreStreams()
    {
        const int Sends = 10;
        var mostOpen = 0;
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync((Http2Frames.SettingsMaxConcurrentStreams, 2));
            var open = new List<int>();
            var received = 0;
            while (received < Sends + 1)
            {
                var frame = await c.ReadUntilAsync(f => f.Type == Http2Frames.Data && f.Has(Http2Frames.EndStream));
                open.Add(frame.StreamId);
                received++;
                mostOpen = Math.Max(mostOpen, open.Count);

                // Answer only with the limit reached (or the last request in): a client that ignored the limit
                // would have a third stream open by now.
                if (open.Count == 2 || received == 1 || received == Sends + 1)
                {
                    foreach (var id in open)
                    {
                        await c.WriteResponseAsync(id, 200, endStream: true);
                    }

                    open.Clear();
                }
            }

            await c.ReadFrameAsync();
        });
        using var client = CreateClient(peer, o => o.MaxConcurrentStreamsPerConnection = 100);
        Assert.True((await client.SendAsync(TestNotifications.For()).WaitAsync(Patience)).IsAccepted);

        var answers = await Task.WhenAll(Enumerable.Range(0, Sends).Select(_ => client.SendAsync(TestNotifications.For()))).WaitAsync(Patience);

        Assert.All(answers, a => Assert.True(a.IsAccepted));
        Assert.Equal(2, mostOpen);
        Assert.Equal(1, peer.ConnectionCount);
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task ABodyLargerThanTheStreamWindowWaitsForTheWindowUpdateAndArrivesWhole()
    {
        var payload = Encoding.UTF8.GetBytes("{\"ciphertext\":\"" + new string('x', 3_900) + "\"}");
        var notification = new ApnsNotification { DeviceToken = TestNotifications.NewDeviceToken(), Topic = MockApnsFixture.Topic, Payload = payload };
        var beforeUpdate = -1;
        byte[]? received = null;
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            // A first, small request is answered after the SETTINGS, so the client knows the window before the second.
            await c.WriteSettingsAsync((Http2Frames.SettingsInitialWindowSize, 100));
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Data && f.Has(Http2Frames.EndStream));
            await c.WriteResponseAsync(headers.StreamId, 200, endStream: true);
            headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            var body = new List<byte>();
            var next = c.ReadFrameAsync();
            while (await Task.WhenAny(next, Task.Delay(500)) == next)
            {
                var frame = await next ?? throw new EndOfStreamException();
                if (frame.Type == Http2Frames.Data)
                {
                    body.AddRange(frame.Payload);
                }

                next = c.ReadFrameAsync();
            }

            beforeUpdate = body.Count;
            await c.WriteWindowUpdateAsync(headers.StreamId, payload.Length);
            var frameAfter = await next ?? throw new EndOfStreamException();
            if (frameAfter.Type == Http2Frames.Data)
            {
                body.AddRange(frameAfter.Payload);
            }

            if (!frameAfter.Has(Http2Frames.EndStream))
            {
                body.AddRange(await c.ReadBodyAsync(headers.StreamId));
            }

            received = [.. body];
            await c.WriteResponseAsync(headers.StreamId, 200, endStream: true);
            await c.ReadFrameAsync();
        });
        using var client = CreateClient(peer);
        var small = new ApnsNotification { DeviceToken = TestNotifications.NewDeviceToken(), Topic = MockApnsFixture.Topic, Payload = "{}"u8.ToArray() };
        Assert.True((await client.SendAsync(small).WaitAsync(Patience)).IsAccepted);

        var response = await client.SendAsync(notification).WaitAsync(Patience);

        Assert.True(response.IsAccepted);
        Assert.Equal(100, beforeUpdate);
        Assert.Equal(payload, received);
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task APingFromThePeerIsAnsweredWithTheSamePayload()
    {
        byte[] ping = [1, 2, 3, 4, 5, 6, 7, 8];
        RawHttp2Peer.Frame? answer = null;
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync();
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            await c.ReadBodyAsync(headers.StreamId);
            await c.WriteFrameAsync(Http2Frames.Ping, 0, 0, ping);
            answer = await c.ReadUntilAsync(f => f.Type == Http2Frames.Ping);
            await c.WriteResponseAsync(headers.StreamId, 200, endStream: true);
            await c.ReadFrameAsync();
        });
        using var client = CreateClient(peer);

        Assert.True((await client.SendAsync(TestNotifications.For()).WaitAsync(Patience)).IsAccepted);

        Assert.NotNull(answer);
        Assert.True(answer.Has(Http2Frames.Ack));
        Assert.Equal(ping, answer.Payload);
        Assert.Null(peer.ScriptFailure);
    }

    [Theory]
    [InlineData("settings-of-5-bytes", Http2Frames.FrameSizeError)]
    [InlineData("push-promise", Http2Frames.ProtocolError)]
    [InlineData("bad-hpack", Http2Frames.CompressionError)]
    [InlineData("window-overflow", Http2Frames.FlowControlError)]
    public async Task APeerThatBreaksTheProtocolGetsAGoAwayWithItsErrorAndTheSendFailsAsTheConnection(string violation, int expectedError)
    {
        var goAwayErrors = new ConcurrentQueue<int>();
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync();
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            switch (violation)
            {
                case "settings-of-5-bytes":
                    await c.WriteFrameAsync(Http2Frames.Settings, 0, 0, new byte[5]);
                    break;
                case "push-promise":
                    await c.WriteFrameAsync(Http2Frames.PushPromise, Http2Frames.EndHeaders, headers.StreamId, (byte[])[0, 0, 0, 2, 0x88]);
                    break;
                case "bad-hpack":
                    // Index 0 is never valid (RFC 7541 §6.1).
                    await c.WriteFrameAsync(Http2Frames.Headers, Http2Frames.EndHeaders | Http2Frames.EndStream, headers.StreamId, (byte[])[0x80]);
                    break;
                default:
                    await c.WriteWindowUpdateAsync(0, int.MaxValue);
                    break;
            }

            var goAway = await c.ReadUntilAsync(f => f.Type == Http2Frames.GoAway);
            goAwayErrors.Enqueue(BinaryPrimitives.ReadInt32BigEndian(goAway.Payload.AsSpan(4)));
        });
        using var client = CreateClient(peer, o => o.RequestTimeout = TimeSpan.FromSeconds(2));

        var failure = await Assert.ThrowsAsync<ApnsException>(() => client.SendAsync(TestNotifications.For()).WaitAsync(Patience));

        Assert.Contains(failure.Failure, new[] { ApnsFailure.Connection, ApnsFailure.Timeout });
        Assert.NotEmpty(goAwayErrors);
        Assert.All(goAwayErrors, code => Assert.Equal(expectedError, code));
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task AGoAwayResendsOnlyTheStreamsAboveItsLastStreamIdOnANewConnectionWithTheirApnsIds()
    {
        var seen = new ConcurrentQueue<(int Connection, string ApnsId)>();
        var connections = 0;
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            var index = Interlocked.Increment(ref connections);
            await c.WriteSettingsAsync();
            if (index == 1)
            {
                // The first request unlocks the connection; of the next three, APNs processes only the first.
                var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
                seen.Enqueue((1, c.DecodeRequestHeaders(headers)["apns-id"]));
                await c.ReadBodyAsync(headers.StreamId);
                await c.WriteResponseAsync(headers.StreamId, 200, endStream: true);
                var streams = new List<int>();
                while (streams.Count < 3)
                {
                    headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
                    seen.Enqueue((1, c.DecodeRequestHeaders(headers)["apns-id"]));
                    streams.Add(headers.StreamId);
                }

                var goAway = new byte[8];
                BinaryPrimitives.WriteInt32BigEndian(goAway, streams[0]);
                await c.WriteFrameAsync(Http2Frames.GoAway, 0, 0, goAway);
                await c.WriteResponseAsync(streams[0], 200, endStream: true);
                await Task.Delay(200);
                return;
            }

            while (await c.ReadFrameAsync() is { } frame)
            {
                if (frame.Type == Http2Frames.Headers)
                {
                    seen.Enqueue((index, c.DecodeRequestHeaders(frame)["apns-id"]));
                    await c.WriteResponseAsync(frame.StreamId, 200, endStream: true);
                }
            }
        });
        using var client = CreateClient(peer, o => o.ConnectionsPerEndpoint = 1);
        var firstOne = TestNotifications.For();
        Assert.True((await client.SendAsync(firstOne).WaitAsync(Patience)).IsAccepted);
        var three = Enumerable.Range(0, 3).Select(_ => TestNotifications.For()).ToArray();

        var answers = await Task.WhenAll(three.Select(n => client.SendAsync(n))).WaitAsync(Patience);

        Assert.All(answers, a => Assert.True(a.IsAccepted));
        Assert.Equal(2, peer.ConnectionCount);
        var onSecond = seen.Where(s => s.Connection == 2).Select(s => s.ApnsId).ToArray();
        var onFirst = seen.Where(s => s.Connection == 1).Select(s => s.ApnsId).ToArray();
        Assert.Equal(4, onFirst.Length);

        // The processed stream is not sent again; the two above the last stream id are, with the same apns-id.
        Assert.Equal(2, onSecond.Length);
        Assert.Equal(onFirst[2..].Order(StringComparer.Ordinal), onSecond.Order(StringComparer.Ordinal));
        Assert.Null(peer.ScriptFailure);
    }

    [Fact]
    public async Task DisposingTheClientTellsApnsGoAwayWithNoError()
    {
        var goAway = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var peer = new RawHttp2Peer(apns.Certificates.ServerCertificate, async c =>
        {
            await c.WriteSettingsAsync();
            var headers = await c.ReadUntilAsync(f => f.Type == Http2Frames.Headers);
            await c.ReadBodyAsync(headers.StreamId);
            await c.WriteResponseAsync(headers.StreamId, 200, endStream: true);
            var frame = await c.ReadUntilAsync(f => f.Type == Http2Frames.GoAway);
            goAway.SetResult(BinaryPrimitives.ReadInt32BigEndian(frame.Payload.AsSpan(4)));
        });
        var client = CreateClient(peer);
        Assert.True((await client.SendAsync(TestNotifications.For()).WaitAsync(Patience)).IsAccepted);

        client.Dispose();

        Assert.Equal(Http2Frames.NoError, await goAway.Task.WaitAsync(Patience));
    }

    private ApnsClient CreateClient(RawHttp2Peer peer, Action<ApnsOptions>? configure = null)
    {
        var options = new ApnsOptions
        {
            TeamId = MockApnsFixture.TeamId,
            KeyId = MockApnsFixture.KeyId,
            PrivateKeyPath = apns.KeyPath,
            ProductionEndpoint = peer.BaseAddress,
            SandboxEndpoint = peer.BaseAddress,
            TrustedCaPath = apns.CaPath,
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(options);
        return new ApnsClient(options, apns.CreateProviderToken(TimeProvider.System), TimeProvider.System);
    }

    private static byte[] HuffmanString(string value)
    {
        var raw = Encoding.ASCII.GetBytes(value);
        var coded = new byte[Huffman.GetEncodedLength(raw)];
        Huffman.Encode(raw, coded);
        return [(byte)(0x80 | coded.Length), .. coded];
    }
}
