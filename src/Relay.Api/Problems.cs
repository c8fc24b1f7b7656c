using Microsoft.AspNetCore.Mvc;

namespace Relay.Api;

/// <summary>Every problem the API answers with besides validation, in one place.</summary>
public static class Problems
{
    public static ProblemDetails UnknownAccount(Guid accountId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown account",
        Detail = $"No account has the id {accountId:D}.",
        Extensions = { ["accountId"] = accountId },
    };

    public static ProblemDetails UnknownDevice(Guid deviceId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown device",
        Detail = $"You have no device with the id {deviceId:D}.",
    };

    public static ProblemDetails NoActiveDevice(Guid deviceId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown device",
        Detail = $"You have no active device with the id {deviceId:D}; a device APNs invalidated must be registered again first.",
    };

    /// <summary>A device key whose signature does not hold; a validation problem, so that it names the field.</summary>
    public static HttpValidationProblemDetails DeviceKeySignatureNotValid() => new(new Dictionary<string, string[]>
    {
        ["signature"] = ["signature is not your identity key's Ed25519 signature of relay-device-key-v1:{accountId}:{deviceId}:{publicKey}."],
    })
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Device key signature not valid",
        Detail = "Sign the UTF-8 text relay-device-key-v1:{accountId}:{deviceId}:{publicKey} with the account's identity key: "
            + "the ids lower-case with hyphens, the key exactly as in the body.",
    };

    public static ProblemDetails CiphertextTooLarge(int length, int maxLength) => new()
    {
        Status = StatusCodes.Status413PayloadTooLarge,
        Title = "Ciphertext too large",
        Detail = $"The ciphertext is {length} base64 characters; APNs takes at most {maxLength} characters "
            + $"({maxLength / 4 * 3} bytes before encoding) in a 4096-byte payload.",
        Extensions =
        {
            ["maxCiphertextLength"] = maxLength,
            ["maxCiphertextBytes"] = maxLength / 4 * 3,
        },
    };

    public static ProblemDetails DevicesChanged(IReadOnlyList<Messages.TargetDevice> devices) => new()
    {
        Status = StatusCodes.Status409Conflict,
        Title = "Devices changed",
        Detail = "ciphertexts must name each active device of the recipients once (without the sending device), and no other. "
            + "devices lists them now, with the keys they published: encrypt for these and send again. Nothing was sent.",
        Extensions = { ["devices"] = devices },
    };

    public static ProblemDetails UnknownMessage(Guid messageId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown message",
        Detail = $"You sent no message with the id {messageId:D}, or it is older than a day past its expiry.",
    };

    public static ProblemDetails BadIdempotencyKey() => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Invalid Idempotency-Key",
        Detail = "The Idempotency-Key header must be given once, with 1 to 255 visible ASCII characters.",
    };

    public static ProblemDetails IdempotencyKeyReused() => new()
    {
        Status = StatusCodes.Status422UnprocessableEntity,
        Title = "Idempotency-Key reused",
        Detail = "An earlier message of yours used this Idempotency-Key with different recipients, ciphertext, ttlSeconds or collapseId. "
            + "Use a new key for a new message.",
    };

    public static ProblemDetails UnsupportedMediaType() => new()
    {
        Status = StatusCodes.Status415UnsupportedMediaType,
        Title = "Unsupported media type",
        Detail = "This endpoint reads a JSON body: send Content-Type: application/json, with no charset or charset=utf-8.",
    };

    /// <summary>A body the relay could not read as the endpoint's JSON; <paramref name="detail"/> names the field or position.</summary>
    public static ProblemDetails UnreadableBody(string detail) => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Unreadable JSON body",
        Detail = detail,
    };

    public static ProblemDetails BodyTooLarge(long? maxBytes) => new()
    {
        Status = StatusCodes.Status413PayloadTooLarge,
        Title = "Request body too large",
        Detail = maxBytes is { } max ? $"This endpoint takes a body of at most {max} bytes." : "The request body is too large for this endpoint.",
    };

    public static ProblemDetails BearerMissing() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Bearer token missing",
        Detail = "Send Authorization: Bearer {accessToken}, with a token from POST /v1/auth/token.",
    };

    public static ProblemDetails BearerMalformed() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Bearer token malformed",
        Detail = "The Authorization header must be \"Bearer \" followed by an access token from POST /v1/auth/token.",
    };

    public static ProblemDetails BearerExpired() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Bearer token expired",
        Detail = "Sign in again (POST /v1/auth/challenge, then POST /v1/auth/token) for a new token.",
    };

    public static ProblemDetails BearerNotSigned() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Bearer token not signed by this relay",
        Detail = "This relay did not issue the token, or it was altered; sign in again for a new one.",
    };

    public static ProblemDetails ChallengeNotValid() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Challenge not valid",
        Detail = "The challenge is unknown, already used or expired (they last 60 seconds); ask POST /v1/auth/challenge for a new one.",
    };

    public static ProblemDetails SignatureNotValid() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Signature not valid",
        Detail = "The signature is not the account's Ed25519 signature of relay-auth-v1:{accountId}:{challenge}; the challenge is used up, ask for a new one.",
    };

    public static ProblemDetails AccountGone() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Account gone",
        Detail = "The account this bearer token was issued to no longer exists.",
    };

    public static ProblemDetails Stopping() => new()
    {
        Status = StatusCodes.Status503ServiceUnavailable,
        Title = "Relay stopping",
        Detail = "This relay instance is shutting down and accepts no new messages; retry (with the same Idempotency-Key) in a moment.",
    };

    public static ProblemDetails DatabaseUnavailable(int retryAfterSeconds) => new()
    {
        Status = StatusCodes.Status503ServiceUnavailable,
        Title = "Database unavailable",
        Detail = $"The relay cannot reach its database right now. Nothing was changed; retry in {retryAfterSeconds} seconds.",
    };

    public static ProblemDetails RealtimeDeviceRequired() => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Device required",
        Detail = "Name the connecting device once in the query string: /v1/realtime?deviceId={deviceId}.",
    };

    public static ProblemDetails RealtimeDeviceRefused(Guid deviceId) => new()
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "Not your active device",
        Detail = $"The device {deviceId:D} is not one of your registered, active devices.",
    };

    public static ProblemDetails RealtimeConnectionCap(int max) => new()
    {
        Status = StatusCodes.Status429TooManyRequests,
        Title = "Too many connections",
        Detail = $"Your account already holds {max} realtime connections, the most it may; close one first.",
    };

    public static ProblemDetails InboxLimit(int max) => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Invalid limit",
        Detail = $"limit must be from 1 to {max}.",
    };

    public static ProblemDetails CiphertextSizeNotAllowed(int bytes, IReadOnlyCollection<int> allowed) => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Ciphertext size not allowed",
        Detail = $"The ciphertext is {bytes} bytes once decoded; this relay takes only {string.Join(", ", allowed)} bytes. "
            + "Pad every message to one of these sizes, so that its size tells nothing about what it is.",
        Extensions = { ["allowedCiphertextSizes"] = allowed },
    };

    public static ProblemDetails TtlNotAllowed(int asked, int allowed) => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "ttlSeconds not allowed",
        Detail = $"ttlSeconds is {asked}; this relay takes only {allowed} (or none, which means {allowed}), "
            + "so that a message's lifetime tells nothing about what it is.",
        Extensions = { ["allowedTtlSeconds"] = allowed },
    };

    public static ProblemDetails DeliveryKeyRequired(Guid accountId) => new()
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "Delivery key required",
        Detail = $"The account {accountId:D} takes messages only from senders who present its current delivery key: "
            + "name it as {\"accountId\", \"deliveryKey\"} in to. Nothing was sent to any recipient.",
    };

    public static ProblemDetails SealedRefused() => new()
    {
        Status = StatusCodes.Status401Unauthorized,
        Title = "Delivery keys not accepted",
        Detail = "A sealed message must name every recipient with its current delivery key. Nothing was sent to any recipient.",
    };

    public static ProblemDetails SealedFromDevice() => new()
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "fromDeviceId not allowed",
        Detail = "A sealed message has no sender, so it cannot name the sender's device: leave fromDeviceId out.",
    };

    public static ProblemDetails TooManyRequests() => new()
    {
        Status = StatusCodes.Status429TooManyRequests,
        Title = "Too many requests",
        Detail = "Slow down and retry after the time in Retry-After.",
    };
}
