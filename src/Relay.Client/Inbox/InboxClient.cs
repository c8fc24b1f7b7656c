using System.Runtime.CompilerServices;
using Relay.Client.Http;

namespace Relay.Client;

/// <summary>
/// <c>/v1/inbox</c>: a device's unacknowledged, unexpired messages over REST, for code without a realtime connection
/// (a Notification Service Extension, an app launching), and their acknowledgement.
/// </summary>
public sealed class InboxClient
{
    /// <summary>The most messages one page or one acknowledgement holds.</summary>
    public const int MaxPage = 500;

    private readonly RelayHttp _http;

    internal InboxClient(RelayHttp http) => _http = http;

    /// <summary><c>GET /v1/inbox</c>: one page of the device's inbox, oldest first.</summary>
    /// <param name="deviceId">One of the caller's devices.</param>
    /// <param name="limit">At most this many, 1 to 500; the relay's default (100) when null.</param>
    /// <param name="after">The last message id of the previous page.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: not the caller's device).</exception>
    public Task<InboxPage> ListAsync(Guid deviceId, int? limit = null, Guid? after = null, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > MaxPage)
        {
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"An inbox page holds 1 to {MaxPage} messages.");
        }

        var query = $"v1/inbox?deviceId={deviceId:D}" + (limit is { } l ? $"&limit={l}" : "") + (after is { } a ? $"&after={a:D}" : "");
        return _http.SendAsync<InboxPage>(new RelayRequest(HttpMethod.Get, query), cancellationToken);
    }

    /// <summary>Every message in the device's inbox, oldest first, page by page.</summary>
    /// <exception cref="RelayApiException">The relay refused a page.</exception>
    public async IAsyncEnumerable<ReceivedMessage> ReadAllAsync(Guid deviceId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Guid? after = null;
        while (true)
        {
            var page = await ListAsync(deviceId, MaxPage, after, cancellationToken);
            foreach (var message in page.Messages)
            {
                yield return message;
            }

            if (!page.More || page.Messages.Count == 0)
            {
                yield break;
            }

            after = page.Messages[^1].MessageId;
        }
    }

    /// <summary>
    /// <c>POST /v1/inbox/acks</c>: acknowledges messages for the device (in batches of 500): they are
    /// <c>delivered</c> and leave its inbox. Returns how many were newly acknowledged.
    /// </summary>
    /// <exception cref="RelayApiException">The relay refused it (<c>404</c>: not the caller's device).</exception>
    public async Task<int> AcknowledgeAsync(Guid deviceId, IEnumerable<Guid> messageIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messageIds);
        var acknowledged = 0;
        foreach (var batch in messageIds.Distinct().Chunk(MaxPage))
        {
            var answer = await _http.SendAsync<AckAnswer>(
                new RelayRequest(HttpMethod.Post, "v1/inbox/acks") { Body = new AckBody(deviceId, batch) }, cancellationToken);
            acknowledged += answer.Acknowledged;
        }

        return acknowledged;
    }

    private sealed record AckBody(Guid DeviceId, Guid[] MessageIds);

    private sealed record AckAnswer(int Acknowledged);
}

/// <summary>One page of a device's inbox.</summary>
/// <param name="Messages">Oldest first.</param>
/// <param name="More">Whether more follow (ask again with <c>after</c> = the last id).</param>
public sealed record InboxPage(IReadOnlyList<ReceivedMessage> Messages, bool More);

/// <summary>A message for a device, from its inbox or live over the realtime channel: what a push would carry.</summary>
/// <param name="MessageId">The message; a second copy (a push and the socket, say) has the same id.</param>
/// <param name="Ciphertext">This device's ciphertext, byte for byte as sent.</param>
/// <param name="CollapseId">The sender's collapse id, if any.</param>
/// <param name="SentAt">When the relay accepted it.</param>
/// <param name="ExpiresAt">When it stops being delivered.</param>
public sealed record ReceivedMessage(Guid MessageId, ReadOnlyMemory<byte> Ciphertext, string? CollapseId, DateTimeOffset SentAt, DateTimeOffset ExpiresAt);
