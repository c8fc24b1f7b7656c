using System.Net.Http.Json;
using System.Text.Json;

namespace Relay.Api.Tests;

public static class Json
{
    public static async Task<JsonElement> ReadJsonAsync(this HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    public static async Task<JsonElement> SendMessageAsync(this TestAccount sender, object body)
    {
        var response = await sender.Client.PostAsJsonAsync("/v1/messages", body);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.ReadJsonAsync();
    }

    public static async Task<JsonElement[]> ListDevicesAsync(this TestAccount account)
    {
        var response = await account.Client.GetAsync("/v1/devices");
        response.EnsureSuccessStatusCode();
        return [.. (await response.ReadJsonAsync()).EnumerateArray()];
    }

    public static JsonElement Delivery(this JsonElement message, Guid deviceId) =>
        message.GetProperty("deliveries").EnumerateArray().Single(d => d.GetProperty("deviceId").GetGuid() == deviceId);

    /// <summary>A random ciphertext, remembered as a secret no log may hold.</summary>
    public static string NewCiphertext(int bytes = 200) =>
        LogCapture.Secret(Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(bytes)));
}
