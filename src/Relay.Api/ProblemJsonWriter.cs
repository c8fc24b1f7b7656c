using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Relay.Api;

/// <summary>
/// Writes a problem as <c>application/problem+json</c> whatever the request's <c>Accept</c> says. The framework's
/// writer declines a caller that accepts only, say, <c>text/html</c>, and the error would then go out as an empty
/// body, as plain JSON, or (from an exception handler) as a 500; every error of this API is problem+json.
/// </summary>
public sealed class ProblemJsonWriter(IOptions<ProblemDetailsOptions> options, IOptions<JsonOptions> json) : IProblemDetailsWriter
{
    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var problem = context.ProblemDetails;
        var response = context.HttpContext.Response;
        problem.Status ??= response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        options.Value.CustomizeProblemDetails?.Invoke(context);
        response.ContentType = "application/problem+json";
        return new ValueTask(JsonSerializer.SerializeAsync(response.Body, problem, problem.GetType(), json.Value.SerializerOptions, context.HttpContext.RequestAborted));
    }
}

public static class ProblemJsonWriterExtensions
{
    /// <summary>Adds <see cref="ProblemJsonWriter"/> after the framework's writer, which keeps the requests it accepts.</summary>
    public static IServiceCollection AddProblemJsonWriter(this IServiceCollection services) =>
        services.AddSingleton<IProblemDetailsWriter, ProblemJsonWriter>();
}
