using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Relay.Api.Deliveries;

/// <summary>
/// PostgreSQL unreachable, restarting or out of connections: every request that needs it is answered 503 with
/// <c>Retry-After</c> rather than 500, and background work waits and resumes by itself.
/// </summary>
public sealed partial class DatabaseOutage(IProblemDetailsService problems, ILogger<DatabaseOutage> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 2;

    /// <summary>Whether <paramref name="exception"/> (or one it wraps) says the database is unavailable.</summary>
    public static bool IsOutage(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                // 08: connection exception; 53: insufficient resources; 57P: the server is shutting down or starting.
                case PostgresException postgres:
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("57P", StringComparison.Ordinal);
                case NpgsqlException:
                case System.Net.Sockets.SocketException:
                    return true;
            }
        }

        return false;
    }

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsOutage(exception))
        {
            return false;
        }

        // The exception handler clears the request's endpoint before it runs handlers; its feature keeps the original.
        var endpoint = httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? httpContext.GetEndpoint();
        return await AnswerAsync(httpContext, endpoint, exception, problems, logger);
    }

    /// <summary>Logs the outage for <paramref name="endpoint"/> and answers the request 503 with <c>Retry-After</c>.</summary>
    public static async ValueTask<bool> AnswerAsync(
        HttpContext httpContext, Endpoint? endpoint, Exception exception, IProblemDetailsService problems, ILogger logger)
    {
        LogUnavailable(logger, endpoint?.DisplayName, exception.GetType().Name);
        httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            ProblemDetails = Problems.DatabaseUnavailable(RetryAfterSeconds),
            Exception = exception,
        });
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PostgreSQL is unavailable ({Error}); answered {Endpoint} with 503")]
    private static partial void LogUnavailable(ILogger logger, string? endpoint, string error);
}
