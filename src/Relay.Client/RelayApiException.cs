using System.Net;
using System.Text.Json;

namespace Relay.Client;

/// <summary>
/// The relay refused a request: its answer's status and, from its <c>application/problem+json</c> body (RFC 9457),
/// the <see cref="Title"/>, <see cref="Detail"/> and any extension (<see cref="Problem"/>). Thrown after the client
/// has done what it can by itself (retried a <c>429</c> or <c>503</c> within its attempts, signed in again once on a
/// <c>401</c>).
/// </summary>
public sealed class RelayApiException : Exception
{
    /// <summary>Creates an exception without an answer behind it.</summary>
    public RelayApiException() : this("The relay refused the request.")
    {
    }

    /// <summary>Creates an exception with a message.</summary>
    public RelayApiException(string message) : base(message)
    {
    }

    /// <summary>Creates an exception with a message and its cause.</summary>
    public RelayApiException(string message, Exception innerException) : base(message, innerException)
    {
    }

    /// <summary>Creates an exception for a relay's answer.</summary>
    /// <param name="statusCode">The answer's status.</param>
    /// <param name="title">The problem's <c>title</c>.</param>
    /// <param name="detail">The problem's <c>detail</c>.</param>
    /// <param name="problem">The whole problem body, when it was JSON.</param>
    /// <param name="retryAfter">The answer's <c>Retry-After</c>, when it had one.</param>
    public RelayApiException(HttpStatusCode statusCode, string? title, string? detail, JsonElement? problem = null, TimeSpan? retryAfter = null)
        : base(MessageOf(statusCode, title, detail))
    {
        StatusCode = statusCode;
        Title = title;
        Detail = detail;
        Problem = problem;
        RetryAfter = retryAfter;
    }

    /// <summary>The relay's answer status.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>What is wrong, in words a person can act on (the problem's <c>title</c>).</summary>
    public string? Title { get; }

    /// <summary>What to do about it (the problem's <c>detail</c>).</summary>
    public string? Detail { get; }

    /// <summary>
    /// The whole problem body, with its extensions (<c>errors</c> of a validation problem, <c>maxCiphertextBytes</c>
    /// of a too-large ciphertext, <c>devices</c> of a stale device list, …), or <see langword="null"/> when the answer
    /// had no JSON body.
    /// </summary>
    public JsonElement? Problem { get; }

    /// <summary>How long the relay asked to wait before trying again, when it said.</summary>
    public TimeSpan? RetryAfter { get; }

    private static string MessageOf(HttpStatusCode statusCode, string? title, string? detail) =>
        $"The relay answered {(int)statusCode}" + (title is null ? "." : $" {title}") + (detail is null ? "" : $": {detail}");
}
