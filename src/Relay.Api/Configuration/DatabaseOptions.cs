namespace Relay.Api.Configuration;

/// <summary><c>ConnectionStrings:Relay</c> and <c>Database:*</c>.</summary>
public sealed class DatabaseOptions
{
    public string? ConnectionString { get; set; }

    public bool MigrateOnStartup { get; set; }
}
