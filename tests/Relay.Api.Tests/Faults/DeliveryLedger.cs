using System.Diagnostics;
using Npgsql;
using Relay.MockApns;

namespace Relay.Api.Tests.Faults;

/// <summary>A delivery row as the relays left it.</summary>
public sealed record DeliveryRow(Guid ApnsId, Guid MessageId, Guid DeviceId, string Status, string? Reason, int Attempts, Guid? LeaseOwner);

/// <summary>
/// Reads a test database's deliveries (every one of them: the database is the test's own) and holds them against
/// what the mock APNs accepted, by apns-id, message and device.
/// </summary>
public static class DeliveryLedger
{
    public static async Task<IReadOnlyDictionary<Guid, DeliveryRow>> ReadAsync(string connectionString)
    {
        // No pooling: a pooled connection may be one the PostgreSQL restart broke.
        var unpooled = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(unpooled);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT id, message_id, device_id, status, reason, attempts, lease_owner FROM deliveries", connection);
        var rows = new Dictionary<Guid, DeliveryRow>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows[reader.GetGuid(0)] = new DeliveryRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4), reader.GetInt32(5), reader.IsDBNull(6) ? null : reader.GetGuid(6));
        }

        return rows;
    }

    /// <summary>
    /// Polls until no delivery is retrying any more, or <paramref name="deadline"/> passes; then waits a moment more
    /// so that a late second copy at the mock would be seen. Returns the rows and how long it took.
    /// </summary>
    public static async Task<(IReadOnlyDictionary<Guid, DeliveryRow> Rows, TimeSpan Took)> WaitUntilFinalAsync(string connectionString, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var rows = await ReadAsync(connectionString);
            if (rows.Values.All(r => r.Status != "retrying") || clock.Elapsed > deadline)
            {
                var took = clock.Elapsed;
                await Task.Delay(TimeSpan.FromSeconds(1));
                return (await ReadAsync(connectionString), took);
            }

            await Task.Delay(200);
        }
    }

    /// <summary>The mock's accepted notifications grouped by apns-id.</summary>
    public static Dictionary<Guid, List<MockApnsNotification>> AcceptedByApnsId(MockApnsServer apns) =>
        apns.Notifications.GroupBy(n => Guid.Parse(n.ApnsId)).ToDictionary(g => g.Key, g => g.ToList());

    /// <summary>
    /// Every accepted answer is a delivery that ended sent and reached the mock for its device, carrying its message
    /// id; every delivery in the database ended sent and reached the mock; the mock accepted nothing under an
    /// apns-id that is not a delivery's (a retry never makes a new one); per device, the mock's copies are the
    /// device's deliveries plus their repeats. Returns the repeats by apns-id (copies beyond the first).
    /// </summary>
    public static Dictionary<Guid, int> AssertAllSent(SendAnswers answers, IReadOnlyDictionary<Guid, DeliveryRow> rows, MockApnsServer apns)
    {
        var accepted = AcceptedByApnsId(apns);
        var devices = answers.All.Select(a => a.Device).DistinctBy(d => d.DeviceId).ToDictionary(d => d.DeviceId);

        var notAnsweredRows = answers.Accepted.Where(a => !rows.ContainsKey(a.ApnsId!.Value)).Select(a => a.ApnsId).ToList();
        Assert.True(notAnsweredRows.Count == 0, $"{notAnsweredRows.Count} accepted deliveries are not in the database, e.g. {notAnsweredRows.FirstOrDefault()}");
        foreach (var answer in answers.Accepted)
        {
            Assert.Equal(answer.MessageId, rows[answer.ApnsId!.Value].MessageId);
            Assert.Equal(answer.Device.DeviceId, rows[answer.ApnsId.Value].DeviceId);
        }

        var notSent = rows.Values.Where(r => r.Status != "sent").ToList();
        Assert.True(notSent.Count == 0, $"{notSent.Count} of {rows.Count} deliveries did not end sent: "
            + string.Join(", ", notSent.GroupBy(r => (r.Status, r.Reason)).Select(g => $"{g.Count()} {g.Key.Status} {g.Key.Reason}")));

        var missing = rows.Values.Where(r => !accepted.ContainsKey(r.ApnsId)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} deliveries marked sent never reached the mock");

        var strangers = accepted.Keys.Where(id => !rows.ContainsKey(id)).ToList();
        Assert.True(strangers.Count == 0, $"the mock accepted {strangers.Count} apns-ids that are no delivery's");

        foreach (var row in rows.Values)
        {
            var device = devices[row.DeviceId];
            foreach (var copy in accepted[row.ApnsId])
            {
                Assert.Equal(device.Token, copy.DeviceToken, ignoreCase: true);
                Assert.Contains($"\"messageId\":\"{row.MessageId:D}\"", copy.BodyText, StringComparison.Ordinal);
            }
        }

        var perDevice = apns.Notifications.GroupBy(n => n.DeviceToken.ToLowerInvariant()).ToDictionary(g => g.Key, g => g.Count());
        var repeats = accepted.Where(a => a.Value.Count > 1).ToDictionary(a => a.Key, a => a.Value.Count - 1);
        foreach (var device in devices.Values)
        {
            var own = rows.Values.Where(r => r.DeviceId == device.DeviceId).ToList();
            var expected = own.Count + own.Sum(r => repeats.GetValueOrDefault(r.ApnsId));
            Assert.Equal(expected, perDevice.GetValueOrDefault(device.Token.ToLowerInvariant()));
        }

        return repeats;
    }

    /// <summary>
    /// Every copy APNs holds of a delivery is an attempt the relay counted: a repeat, if any, came from an attempt that
    /// got no answer in time and was retried as §9 says — none from an attempt a stop or an outage lost track of.
    /// </summary>
    public static void AssertEveryCopyWasACountedAttempt(Dictionary<Guid, int> repeats, IReadOnlyDictionary<Guid, DeliveryRow> rows)
    {
        var uncounted = repeats.Where(r => rows[r.Key].Attempts < r.Value + 1).ToList();
        Assert.True(uncounted.Count == 0, $"{uncounted.Count} deliveries reached APNs more often than they were attempted, e.g. "
            + string.Join("; ", uncounted.Take(3).Select(r => $"{r.Key}: {r.Value + 1} copies, {rows[r.Key].Attempts} attempts")));
    }
}
