using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Npgsql;
using Relay.Data;

namespace Relay.Ctl;

/// <summary>Opens the relay's database from <c>ConnectionStrings:Relay</c>, turning failures into one readable line.</summary>
internal static class RelayDatabase
{
    public const string ConnectionStringKey = "ConnectionStrings:Relay";

    /// <summary>The parsed connection string, without pooling: relayctl opens one connection and closes it.</summary>
    /// <exception cref="CtlException">The setting is missing or not a connection string.</exception>
    public static NpgsqlConnectionStringBuilder ConnectionString(IConfiguration configuration)
    {
        var value = configuration.GetConnectionString("Relay");
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new CtlException($"{ConnectionStringKey} is required: the PostgreSQL connection string (ConnectionStrings__Relay, --config or --connection-string).");
        }

        try
        {
            return new NpgsqlConnectionStringBuilder(value) { Pooling = false };
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidCastException or OverflowException)
        {
            // Not e.Message: it may quote the value, and the value may hold the password.
            throw new CtlException($"{ConnectionStringKey} is not a valid PostgreSQL connection string ({e.GetType().Name}).");
        }
    }

    /// <summary>Where the connection string points, without user or password: <c>host:port/database</c>.</summary>
    public static string Target(NpgsqlConnectionStringBuilder builder) =>
        $"{builder.Host ?? "(no Host)"}:{builder.Port}" + (string.IsNullOrEmpty(builder.Database) ? "" : "/" + builder.Database);

    /// <summary>A context on an open connection, which every query of the command then uses.</summary>
    /// <exception cref="CtlException">The setting is missing or PostgreSQL cannot be reached.</exception>
    public static async Task<RelayDbContext> OpenAsync(IConfiguration configuration, CancellationToken cancellationToken) =>
        await OpenAsync(ConnectionString(configuration), cancellationToken);

    /// <inheritdoc cref="OpenAsync(IConfiguration, CancellationToken)"/>
    public static async Task<RelayDbContext> OpenAsync(NpgsqlConnectionStringBuilder connectionString, CancellationToken cancellationToken)
    {
        var options = new DbContextOptionsBuilder<RelayDbContext>();
        options.UseRelayDatabase(connectionString.ConnectionString);
        var db = new RelayDbContext(options.Options);
        try
        {
            // Opened here rather than through EF Core, whose execution strategy would wrap the failure; EF Core then
            // uses this open connection for every query and closes it with the context.
            await db.Database.GetDbConnection().OpenAsync(cancellationToken);
            return db;
        }
        catch (Exception e) when (e is NpgsqlException or SocketException or TimeoutException or IOException)
        {
            await db.DisposeAsync();
            throw new CtlException($"cannot connect to PostgreSQL at {Target(connectionString)} ({Reason(e)})");
        }
    }

    /// <summary>
    /// One line for a PostgreSQL failure, also when EF Core wrapped it (in an InvalidOperationException, for what it
    /// considers transient); <see langword="null"/> for any other exception. Kept here so that commands without a
    /// database (health) never load Npgsql.
    /// </summary>
    public static string? DescribeFailure(Exception e) =>
        (e as NpgsqlException ?? e.InnerException as NpgsqlException) is { } database ? DescribeQueryFailure(database) : null;

    /// <summary>One line for a query that failed after the connection opened.</summary>
    public static string DescribeQueryFailure(NpgsqlException e) => e switch
    {
        PostgresException { SqlState: PostgresErrorCodes.UndefinedTable } p =>
            $"PostgreSQL: {p.MessageText} ({p.SqlState}): the relay's schema is missing; apply the migrations (relayctl check lists them)",
        PostgresException p => $"PostgreSQL: {CtlConsole.Redact(p.MessageText)} ({p.SqlState})",
        _ => $"PostgreSQL failed ({Reason(e)})",
    };

    private static string Reason(Exception e) => e switch
    {
        PostgresException p => $"{p.SqlState}: {CtlConsole.Redact(p.MessageText)}",
        SocketException s => s.Message,
        TimeoutException => "timeout",
        NpgsqlException { InnerException: { } inner } => Reason(inner),
        IOException { InnerException: { } inner } => Reason(inner),
        _ => e.GetType().Name,
    };
}
