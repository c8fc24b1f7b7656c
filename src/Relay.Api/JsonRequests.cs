using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace Relay.Api;

/// <summary>
/// JSON request bodies, the same in every environment: the content type is checked before the framework reads the
/// body (<c>application/json</c>, UTF-8 in any spelling or no charset, else 415), and a body the framework cannot
/// bind is a 400 problem naming the field or the position, never the developer exception page or a 500.
/// </summary>
public static class JsonRequests
{
    public static IServiceCollection AddJsonRequests(this IServiceCollection services)
    {
        // Binding failures throw everywhere (by default only in Development), so that one handler words them all.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.AddExceptionHandler<UnreadableRequest>();

        // Routing answers 415 itself for a media type no endpoint accepts, and the framework sets 413 for a body over
        // the limit: their problems get the same words as ours.
        services.Configure<ProblemDetailsOptions>(options =>
        {
            var previous = options.CustomizeProblemDetails;
            options.CustomizeProblemDetails = context =>
            {
                previous?.Invoke(context);
                var problem = context.ProblemDetails;
                if (problem is HttpValidationProblemDetails validation)
                {
                    CamelCaseKeys(validation.Errors);
                    problem.Title = "Invalid request";
                    problem.Detail ??= "Each entry of errors names a field and what is wrong with it; nothing was changed.";
                    return;
                }

                if (problem.Detail is not null)
                {
                    return;
                }

                var ours = problem.Status switch
                {
                    StatusCodes.Status400BadRequest => Problems.UnreadableBody("The relay could not read this request's body or parameters."),
                    StatusCodes.Status413PayloadTooLarge => Problems.BodyTooLarge(
                        context.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize),
                    StatusCodes.Status415UnsupportedMediaType => Problems.UnsupportedMediaType(),
                    _ => null,
                };
                if (ours is not null)
                {
                    problem.Title = ours.Title;
                    problem.Detail = ours.Detail;
                }
            };
        });
        return services;
    }

    /// <summary>The validation errors keyed by the names the body uses (<c>collapseId</c>, <c>to[0]</c>), not the C# ones.</summary>
    private static void CamelCaseKeys(IDictionary<string, string[]> errors)
    {
        foreach (var key in errors.Keys.ToList())
        {
            var camel = string.Join('.', key.Split('.').Select(part => part.Length > 0 ? char.ToLowerInvariant(part[0]) + part[1..] : part));
            if (camel != key)
            {
                var messages = errors[key];
                errors.Remove(key);
                errors[camel] = errors.TryGetValue(camel, out var more) ? [.. more, .. messages] : messages;
            }
        }
    }

    /// <summary>Refuses a body endpoint's request whose content type is not JSON in UTF-8; runs after routing.</summary>
    public static IApplicationBuilder UseJsonRequests(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>() is { ContentTypes.Count: > 0 })
        {
            if (!IsJsonInUtf8(http.Request.ContentType))
            {
                await WriteAsync(http, Problems.UnsupportedMediaType(), null);
                return;
            }

            // The framework looks the charset up by name and fails on spellings such as "utf8" or a quoted "utf-8".
            http.Request.ContentType = "application/json";

            // The JSON reader does not check the UTF-8 of a field it skips: a body that is not UTF-8 is refused whole.
            // Reading it here honours the endpoint's body limit (a 413 beyond it); the endpoint then reads the copy.
            // Sized from a Content-Length within the body limit (the server holds a body to both), so the copy does not
            // regrow; a larger one is answered 413 when read.
            var limit = http.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize ?? 0;
            var body = new MemoryStream(http.Request.ContentLength is { } length && length > 0 && length <= limit ? (int)length : 0);
            await http.Request.Body.CopyToAsync(body, http.RequestAborted);
            if (InvalidUtf8At(body.GetBuffer().AsSpan(0, (int)body.Length)) is { } at)
            {
                await WriteAsync(http, Problems.UnreadableBody($"The body is not valid UTF-8: byte {at + 1} begins an invalid sequence."), null);
                return;
            }

            body.Position = 0;
            http.Request.Body = body;
            http.Response.RegisterForDispose(body);
        }

        await next(http);
    });

    /// <summary><c>application/json</c>, with no charset or <c>utf-8</c> / <c>utf8</c> (any case, quoted or not).</summary>
    public static bool IsJsonInUtf8(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media)
            || !string.Equals(media.MediaType.Value, "application/json", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        foreach (var parameter in media.Parameters)
        {
            if (parameter.Name.Equals("charset", StringComparison.OrdinalIgnoreCase) && !IsUtf8(HeaderUtilities.RemoveQuotes(parameter.Value)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The offset of the first byte that is not part of valid UTF-8, or null when all of it is.</summary>
    public static int? InvalidUtf8At(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return null;
        }

        var at = 0;
        while (System.Text.Rune.DecodeFromUtf8(bytes[at..], out _, out var consumed) == System.Buffers.OperationStatus.Done)
        {
            at += consumed;
        }

        return at;
    }

    private static bool IsUtf8(Microsoft.Extensions.Primitives.StringSegment charset) =>
        charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase) || charset.Equals("utf8", StringComparison.OrdinalIgnoreCase);

    /// <summary>What is wrong with a JSON body, for a person: the field (or the body) and the position.</summary>
    public static string Describe(JsonException json)
    {
        var field = json.Path is null or "$" ? null : json.Path.StartsWith("$.", StringComparison.Ordinal) ? json.Path[2..] : json.Path[1..];
        var position = json.LineNumber is { } line && json.BytePositionInLine is { } column
            ? $"line {line + 1}, position {column + 1}"
            : "an unknown position";
        var reason = json.Message;
        var cut = reason.IndexOf(" Path: ", StringComparison.Ordinal) is >= 0 and var p ? p : reason.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (cut >= 0)
        {
            reason = reason[..cut];
        }

        const string Conversion = "The JSON value could not be converted to ";
        if (reason.StartsWith(Conversion, StringComparison.Ordinal))
        {
            var expected = Expected(reason[Conversion.Length..]);
            return field is null
                ? $"The body must be {expected} (at {position})."
                : $"'{field}' must be {expected} (at {position}).";
        }

        return field is null
            ? $"The body is not valid JSON at {position}: {reason}"
            : $"The body is not valid JSON at {position}, in '{field}': {reason}";
    }

    private static string Expected(string type) =>
        type.Contains("List`1", StringComparison.Ordinal) || type.Contains("[]", StringComparison.Ordinal) ? "a JSON array"
        : type.Contains("System.Guid", StringComparison.Ordinal) ? "a UUID string (8-4-4-4-12 hex digits)"
        : type.Contains("System.Int", StringComparison.Ordinal) ? "a whole JSON number within range"
        : type.Contains("System.Boolean", StringComparison.Ordinal) ? "true or false"
        : type.Contains("System.String", StringComparison.Ordinal) ? "a JSON string"
        : type.Contains("System.DateTime", StringComparison.Ordinal) ? "an ISO 8601 date-time string"
        : "a JSON object";

    private static async ValueTask<bool> WriteAsync(HttpContext http, Microsoft.AspNetCore.Mvc.ProblemDetails problem, Exception? exception)
    {
        http.Response.StatusCode = problem.Status!.Value;
        return await http.RequestServices.GetRequiredService<IProblemDetailsService>().TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    /// <summary>The framework's binding failures (<see cref="BadHttpRequestException"/>) as problems a person can act on.</summary>
    private sealed class UnreadableRequest : IExceptionHandler
    {
        public ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted)
            {
                return ValueTask.FromResult(false);
            }

            var json = FindJsonException(bad);
            var problem = bad.StatusCode switch
            {
                StatusCodes.Status413PayloadTooLarge => Problems.BodyTooLarge(httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize),
                StatusCodes.Status415UnsupportedMediaType => Problems.UnsupportedMediaType(),
                StatusCodes.Status400BadRequest => Problems.UnreadableBody(json is not null
                    ? Describe(json)
                    : "The body is empty or null: send a JSON object with this endpoint's fields."),
                _ => new Microsoft.AspNetCore.Mvc.ProblemDetails
                {
                    Status = bad.StatusCode,
                    Title = "Unreadable request",
                    Detail = "The relay could not read this request; check its body and headers.",
                },
            };
            return WriteAsync(httpContext, problem, exception);
        }

        private static JsonException? FindJsonException(Exception exception)
        {
            for (var e = exception.InnerException; e is not null; e = e.InnerException)
            {
                if (e is JsonException json)
                {
                    return json;
                }
            }

            return null;
        }
    }
}
