using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relay.MockApns.Cli;

/// <summary>The team and key id <c>generate</c> made the credentials for, kept next to them in mockapns.json.</summary>
internal sealed record DevelopmentIdentity(string TeamId, string KeyId)
{
    public const string FileName = "mockapns.json";

    /// <summary>Apple's ids are 10 upper-case letters and digits.</summary>
    public static DevelopmentIdentity Default { get; } = new("DEVTEAM001", "DEVKEY0001");

    public static DevelopmentIdentity? Read(string directory)
    {
        var path = Path.Combine(directory, FileName);
        return File.Exists(path)
            ? JsonSerializer.Deserialize(File.ReadAllText(path), DevelopmentIdentityJsonContext.Default.DevelopmentIdentity)
            : null;
    }

    /// <summary>
    /// Writes mockapns.json when it is missing, when forced, or when an id is given explicitly; returns whether it did.
    /// </summary>
    public static bool Ensure(string directory, bool force, string? teamId, string? keyId)
    {
        var existing = Read(directory);
        if (existing is not null && !force && teamId is null && keyId is null)
        {
            return false;
        }

        var fallback = existing ?? Default;
        new DevelopmentIdentity(teamId ?? fallback.TeamId, keyId ?? fallback.KeyId).Write(directory);
        return true;
    }

    public void Write(string directory) =>
        File.WriteAllText(
            Path.Combine(directory, FileName),
            JsonSerializer.Serialize(this, DevelopmentIdentityJsonContext.Default.DevelopmentIdentity) + "\n");
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(DevelopmentIdentity))]
internal sealed partial class DevelopmentIdentityJsonContext : JsonSerializerContext;
