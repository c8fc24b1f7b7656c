using Microsoft.AspNetCore.Mvc;

namespace Relay.Api;

/// <summary>Every problem the API answers with besides validation, in one place.</summary>
public static class Problems
{
    public static ProblemDetails UnknownAccount(Guid accountId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown account",
        Detail = $"No account has the id {accountId:D}.",
        Extensions = { ["accountId"] = accountId },
    };

    public static ProblemDetails UnknownDevice(Guid deviceId) => new()
    {
        Status = StatusCodes.Status404NotFound,
        Title = "Unknown device",
        Detail = $"You have no device with the id {deviceId:D}.",
    };

    public static ProblemDetails CiphertextTooLarge(int length, int maxLength) => new()
    {
        Status = StatusCodes.Status413PayloadTooLarge,
        Title = "Ciphertext too large",
        Detail = $"The ciphertext is {length} base64 characters; APNs takes at most {maxLength} characters "
            + $"({maxLength / 4 * 3} bytes before encoding) in a 4096-byte payload.",
        Extensions =
        {
            ["maxCiphertextLength"] = maxLength,
            ["maxCiphertextBytes"] = maxLength / 4 * 3,
        },
    };
}
