using System.Buffers.Text;
using System.Text;
using Relay.Apns.Http2;

namespace Relay.Apns;

/// <summary>
/// One notification as an HTTP/2 request to APNs (<c>POST /3/device/{token}</c> with Apple's headers), and the parts
/// of the answer the client reads: <c>:status</c>, <c>apns-id</c>, <c>retry-after</c> and the error body.
/// </summary>
internal sealed class ApnsStream(ApnsNotification notification, byte[] authority, string authorization) : Http2Stream
{
    /// <summary>Apple's error bodies are a reason and a timestamp; anything longer is cut here.</summary>
    private const int MaxBodyBytes = 16 * 1024;

    private static readonly byte[] PushTypeName = Encoding.ASCII.GetBytes(ApnsHeaders.PushType);
    private static readonly byte[] TopicName = Encoding.ASCII.GetBytes(ApnsHeaders.Topic);
    private static readonly byte[] PriorityName = Encoding.ASCII.GetBytes(ApnsHeaders.Priority);
    private static readonly byte[] IdName = Encoding.ASCII.GetBytes(ApnsHeaders.Id);
    private static readonly byte[] ExpirationName = Encoding.ASCII.GetBytes(ApnsHeaders.Expiration);
    private static readonly byte[] CollapseIdName = Encoding.ASCII.GetBytes(ApnsHeaders.CollapseId);
    private static readonly byte[] RetryAfterName = Encoding.ASCII.GetBytes(ApnsHeaders.RetryAfter);
    private static readonly byte[] DevicePath = Encoding.ASCII.GetBytes(ApnsHeaders.DevicePath);

    private byte[]? _body;
    private int _bodyLength;

    public ApnsNotification Notification => notification;

    /// <summary>The <c>apns-id</c> APNs answered with, if it sent a well-formed one.</summary>
    public Guid? EchoedApnsId { get; private set; }

    /// <summary>The <c>retry-after</c> header as sent, if any.</summary>
    public string? RetryAfter { get; private set; }

    /// <summary>The response body (an error's JSON), empty when there was none.</summary>
    public ReadOnlySpan<byte> ResponseBody => _body.AsSpan(0, _bodyLength);

    public override ReadOnlyMemory<byte> Body => notification.Payload;

    public override int MaxHeaderBlockLength =>
        2 + HpackEncoder.MaxLiteralLength(0, authority.Length) + HpackEncoder.MaxLiteralLength(0, DevicePath.Length + notification.DeviceToken.Length)
        + HpackEncoder.MaxLiteralLength(0, 16) + HpackEncoder.MaxLiteralLength(0, 20) + HpackEncoder.MaxLiteralLength(0, authorization.Length)
        + HpackEncoder.MaxLiteralLength(PushTypeName.Length, 32) + HpackEncoder.MaxLiteralLength(TopicName.Length, notification.Topic.Length)
        + HpackEncoder.MaxLiteralLength(PriorityName.Length, 11) + HpackEncoder.MaxLiteralLength(IdName.Length, 36)
        + HpackEncoder.MaxLiteralLength(ExpirationName.Length, 20) + HpackEncoder.MaxLiteralLength(CollapseIdName.Length, notification.CollapseId?.Length ?? 0);

    public override int WriteHeaderBlock(Span<byte> destination)
    {
        var n = HpackEncoder.WriteIndexed(HpackEncoder.MethodPost, destination);
        n += HpackEncoder.WriteIndexed(HpackEncoder.SchemeHttps, destination[n..]);
        n += HpackEncoder.WriteIndexedName(HpackEncoder.Authority, authority, destination[n..]);
        n += HpackEncoder.WriteIndexedName(HpackEncoder.Path, DevicePath, notification.DeviceToken, destination[n..]);
        n += HpackEncoder.WriteIndexedName(HpackEncoder.ContentType, "application/json"u8, destination[n..]);
        n += HpackEncoder.WriteIndexedName(HpackEncoder.ContentLength, notification.Payload.Length, destination[n..]);

        // Never indexed (RFC 7541 §7.1.3): no intermediary may keep the provider token in a table.
        n += HpackEncoder.WriteIndexedName(HpackEncoder.Authorization, authorization, destination[n..], sensitive: true);
        n += HpackEncoder.WriteLiteral(PushTypeName, notification.PushType.ToHeaderValue(), destination[n..]);
        n += HpackEncoder.WriteLiteral(TopicName, notification.Topic, destination[n..]);
        Span<byte> text = stackalloc byte[36];
        Utf8Formatter.TryFormat(notification.Priority, text, out var length);
        n += HpackEncoder.WriteLiteral(PriorityName, text[..length], destination[n..]);
        notification.ApnsId.TryFormat(text, out length, "D");
        n += HpackEncoder.WriteLiteral(IdName, text[..length], destination[n..]);
        if (notification.Expiration is { } expiration)
        {
            Utf8Formatter.TryFormat(expiration, text, out length);
            n += HpackEncoder.WriteLiteral(ExpirationName, text[..length], destination[n..]);
        }

        if (notification.CollapseId is { } collapseId)
        {
            n += HpackEncoder.WriteLiteral(CollapseIdName, collapseId, destination[n..]);
        }

        return n;
    }

    protected override void OnResponseHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.SequenceEqual(IdName))
        {
            EchoedApnsId = Utf8Parser.TryParse(value, out Guid id, out var consumed, 'D') && consumed == value.Length ? id : null;
        }
        else if (name.SequenceEqual(RetryAfterName))
        {
            RetryAfter = Encoding.ASCII.GetString(value);
        }
    }

    public override bool OnData(ReadOnlySpan<byte> data)
    {
        if (_bodyLength + data.Length > MaxBodyBytes)
        {
            return false;
        }

        if (_body is null || _body.Length < _bodyLength + data.Length)
        {
            Array.Resize(ref _body, Math.Max(256, _bodyLength + data.Length));
        }

        data.CopyTo(_body.AsSpan(_bodyLength));
        _bodyLength += data.Length;
        return true;
    }
}
