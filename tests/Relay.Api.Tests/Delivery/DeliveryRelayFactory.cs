using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Api.Tests.Delivery;

/// <summary>A relay with fast retries, for tests that watch deliveries go through faults and expire.</summary>
public sealed class DeliveryRelayFactory : RelayFactory
{
    public static readonly TimeSpan ImmediateRetryWindow = TimeSpan.FromSeconds(2);

    protected override IEnumerable<(string Key, string Value)> ExtraSettings =>
    [
        ("Delivery:RetryInitialDelay", "00:00:00.200"),
        ("Delivery:RetryMaxDelay", "00:00:01"),
        ("Delivery:AnswerTimeout", "00:00:02"),
        ("Delivery:ImmediateRetryWindow", "00:00:02"),
        ("Delivery:LeaseTimeout", "00:00:10"),
        ("Apns:RequestTimeout", "00:00:02"),
        ("RateLimits:AccountPerMinute", "1000000"),
    ];

    /// <summary>Polls the database until no delivery of these messages is retrying, or the deadline passes.</summary>
    public async Task<Dictionary<Guid, (string Status, string? Reason, DateTimeOffset UpdatedAt, Guid MessageId)>> WaitUntilFinalAsync(
        IReadOnlyCollection<Guid> messageIds, TimeSpan deadline)
    {
        var until = DateTime.UtcNow + deadline;
        while (true)
        {
            var rows = await Database.QueryDeliveriesAsync(messageIds);
            if (rows.Values.All(r => r.Status != "retrying") || DateTime.UtcNow > until)
            {
                return rows;
            }

            await Task.Delay(200);
        }
    }
}

/// <summary>Reads of the deliveries table, for assertions that go past the API.</summary>
public static class DeliveryRows
{
    public static async Task<Dictionary<Guid, (string Status, string? Reason, DateTimeOffset UpdatedAt, Guid MessageId)>> QueryDeliveriesAsync(
        this TestDatabase database, IReadOnlyCollection<Guid> messageIds)
    {
        await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT id, status, reason, updated_at, message_id FROM deliveries WHERE message_id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", messageIds.ToArray());
        var rows = new Dictionary<Guid, (string, string?, DateTimeOffset, Guid)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetGuid(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetFieldValue<DateTimeOffset>(3), reader.GetGuid(4));
        }

        return rows;
    }

    /// <summary>Posts a message and returns the answer's body, whatever the status.</summary>
    public static async Task<(System.Net.HttpStatusCode Status, JsonElement Body)> PostMessageAsync(this TestAccount sender, object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        using var response = await sender.Client.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }
}
