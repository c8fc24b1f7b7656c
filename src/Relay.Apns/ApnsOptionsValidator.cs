using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;

namespace Relay.Apns;

/// <summary>
/// Checks what data annotations cannot: the key file loads as a P-256 key, the CA file loads, endpoints are HTTPS.
/// Failures name the setting as <c>Apns:Key</c>. Public so that tooling (relayctl) checks settings exactly as the relay does.
/// </summary>
public sealed class ApnsOptionsValidator : IValidateOptions<ApnsOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ApnsOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.TeamId))
        {
            failures.Add("Apns:TeamId is required (the 10-character Team ID).");
        }

        if (string.IsNullOrWhiteSpace(options.KeyId))
        {
            failures.Add("Apns:KeyId is required (the 10-character Key ID of the .p8 key).");
        }

        if (string.IsNullOrWhiteSpace(options.PrivateKeyPath))
        {
            failures.Add("Apns:PrivateKeyPath is required (the path of the .p8 signing key).");
        }
        else if (LoadKeyError(options.PrivateKeyPath) is { } keyError)
        {
            failures.Add($"Apns:PrivateKeyPath: {keyError}");
        }

        CheckEndpoint(failures, "Apns:ProductionEndpoint", options.ProductionEndpoint);
        CheckEndpoint(failures, "Apns:SandboxEndpoint", options.SandboxEndpoint);
        if (!string.IsNullOrWhiteSpace(options.TrustedCaPath))
        {
            try
            {
                using var ca = X509CertificateLoader.LoadCertificateFromFile(options.TrustedCaPath);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                failures.Add($"Apns:TrustedCaPath: cannot load a certificate from '{options.TrustedCaPath}' ({e.GetType().Name}).");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Why the key file cannot sign provider tokens, or <see langword="null"/> when it can.</summary>
    public static string? LoadKeyError(string path)
    {
        try
        {
            using var key = ECDsa.Create();
            key.ImportFromPem(File.ReadAllText(path));
            return key.KeySize == 256 ? null : $"the key in '{path}' is not a P-256 key.";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot read '{path}' ({e.GetType().Name}).";
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return $"'{path}' holds no PKCS#8 PEM EC private key.";
        }
    }

    private static void CheckEndpoint(List<string> failures, string key, Uri? endpoint)
    {
        if (endpoint is null || !endpoint.IsAbsoluteUri || endpoint.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{key} must be an absolute https:// URI.");
        }
    }
}
