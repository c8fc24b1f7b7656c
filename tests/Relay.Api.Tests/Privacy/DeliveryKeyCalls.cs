using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Relay.Api.Tests.Privacy;

/// <summary>Delivery keys as the tests use them: fresh random keys (remembered as secrets) and the calls around them.</summary>
public static class DeliveryKeyCalls
{
    public static string NewKey(int bytes = 32) => LogCapture.Secret(Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)));

    /// <summary>Sets a fresh delivery key on <paramref name="account"/> and returns it.</summary>
    public static async Task<string> SetDeliveryKeyAsync(this TestAccount account, bool required = true)
    {
        var key = NewKey();
        using var response = await account.Client.PutAsJsonAsync("/v1/accounts/me/delivery", new { key, required });
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        return key;
    }

    /// <summary>Posts a sealed message (no Authorization) and returns the answer's status, headers and body.</summary>
    public static async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostSealedAsync(
        this RelayFactory relay, object body, string? idempotencyKey = null)
    {
        using var client = relay.CreateRelayClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages/sealed") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }

        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }
}
