using System.Formats.Asn1;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Relay.MockApns;

/// <summary>
/// Development credentials for the mock: a CA, a TLS server certificate it signed (for <c>localhost</c>,
/// <c>127.0.0.1</c>, <c>::1</c> and <c>mockapns</c>), and a provider key in Apple's .p8 format.
/// Made with <see cref="CertificateRequest"/>; nothing here is fit for production.
/// </summary>
public static class MockApnsCertificates
{
    /// <summary>The CA certificate (PEM).</summary>
    public const string CaFileName = "ca.pem";
    /// <summary>The server certificate (PEM).</summary>
    public const string ServerCertificateFileName = "server.pem";
    /// <summary>The server private key (PKCS#8 PEM).</summary>
    public const string ServerKeyFileName = "server.key";
    /// <summary>The server certificate with its key (PKCS#12, empty password).</summary>
    public const string ServerPfxFileName = "server.pfx";
    /// <summary>The provider key, as Apple hands it out (PKCS#8 PEM, P-256).</summary>
    public const string ProviderKeyFileName = "apns-key.p8";
    /// <summary>The provider public key (SubjectPublicKeyInfo PEM).</summary>
    public const string ProviderPublicKeyFileName = "apns-key.pub.pem";

    /// <summary>The host names and addresses the server certificate is valid for.</summary>
    public static IReadOnlyList<string> ServerNames { get; } = ["localhost", "mockapns", "127.0.0.1", "::1"];

    /// <summary>A fresh in-memory set: no files needed.</summary>
    public static MockApnsCertificateSet CreateDevelopmentSet()
    {
        var (ca, server) = CreateCertificates();
        return new MockApnsCertificateSet(ca, server, CreateProviderKey());
    }

    /// <summary>
    /// Makes sure <paramref name="directory"/> holds a complete set and returns it. Existing files are kept unless
    /// <paramref name="force"/>; an expired server certificate is replaced (with a new CA), an existing provider key
    /// never is unless forced, so configurations pointing at it keep working.
    /// </summary>
    /// <returns>The set and the names of the files written.</returns>
    public static (MockApnsCertificateSet Set, IReadOnlyList<string> Written) EnsureFiles(string directory, bool force = false)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();

        var keyPath = Path.Combine(directory, ProviderKeyFileName);
        var publicKeyPath = Path.Combine(directory, ProviderPublicKeyFileName);
        ECDsa providerKey;
        if (!force && File.Exists(keyPath))
        {
            providerKey = LoadProviderKey(keyPath);
        }
        else
        {
            providerKey = CreateProviderKey();
            File.WriteAllText(keyPath, ToApplePkcs8Pem(providerKey));
            written.Add(ProviderKeyFileName);
        }

        if (force || !File.Exists(publicKeyPath))
        {
            File.WriteAllText(publicKeyPath, providerKey.ExportSubjectPublicKeyInfoPem() + "\n");
            written.Add(ProviderPublicKeyFileName);
        }

        X509Certificate2? ca = null;
        X509Certificate2? server = null;
        string[] certificateFiles = [CaFileName, ServerCertificateFileName, ServerKeyFileName, ServerPfxFileName];
        if (!force && certificateFiles.All(name => File.Exists(Path.Combine(directory, name))))
        {
            ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, CaFileName)));
            server = LoadServerCertificate(directory);
            if (server.NotAfter < DateTime.Now.AddDays(1))
            {
                ca.Dispose();
                server.Dispose();
                ca = server = null;
            }
        }

        if (ca is null || server is null)
        {
            (ca, server) = CreateCertificates();
            var set = new MockApnsCertificateSet(ca, server, providerKey);
            set.WriteCertificateFiles(directory);
            written.AddRange(certificateFiles);
            return (set, written);
        }

        return (new MockApnsCertificateSet(ca, server, providerKey), written);
    }

    /// <summary>Loads a set written by <see cref="MockApnsCertificateSet.Write"/> or <see cref="EnsureFiles"/>.</summary>
    public static MockApnsCertificateSet Load(string directory)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(directory, CaFileName)));
        var server = LoadServerCertificate(directory);
        var key = LoadProviderKey(Path.Combine(directory, ProviderKeyFileName));
        return new MockApnsCertificateSet(ca, server, key);
    }

    /// <summary>Loads <c>server.pfx</c>, or else <c>server.pem</c> with <c>server.key</c>.</summary>
    public static X509Certificate2 LoadServerCertificate(string directory)
    {
        var pfx = Path.Combine(directory, ServerPfxFileName);
        if (File.Exists(pfx))
        {
            return X509CertificateLoader.LoadPkcs12FromFile(pfx, password: "");
        }

        using var pem = X509Certificate2.CreateFromPemFile(
            Path.Combine(directory, ServerCertificateFileName), Path.Combine(directory, ServerKeyFileName));
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }

    /// <summary>
    /// The provider key in Apple's .p8 layout: PKCS#8 "PRIVATE KEY" PEM around a SEC1 ECPrivateKey that carries the
    /// curve (prime256v1) and the public key, like the files Apple's developer portal hands out.
    /// </summary>
    public static string ToApplePkcs8Pem(ECDsa key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteInteger(0);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier("1.2.840.10045.2.1"); // id-ecPublicKey
                writer.WriteObjectIdentifier("1.2.840.10045.3.1.7"); // prime256v1
            }

            writer.WriteOctetString(key.ExportECPrivateKey());
        }

        return new string(PemEncoding.Write("PRIVATE KEY", writer.Encode())) + "\n";
    }

    private static ECDsa CreateProviderKey() => ECDsa.Create(ECCurve.NamedCurves.nistP256);

    private static ECDsa LoadProviderKey(string path)
    {
        var key = ECDsa.Create();
        key.ImportFromPem(File.ReadAllText(path));
        return key;
    }

    private static (X509Certificate2 Ca, X509Certificate2 Server) CreateCertificates()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Relay MockApns Development CA, O=Relay", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var caWithKey = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=mockapns, O=Relay", serverKey, HashAlgorithmName.SHA256);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        serverRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(serverRequest.PublicKey, false));
        serverRequest.CertificateExtensions.Add(
            X509AuthorityKeyIdentifierExtension.CreateFromCertificate(caWithKey, true, false));
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in ServerNames)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                names.AddIpAddress(address);
            }
            else
            {
                names.AddDnsName(name);
            }
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var serverPublic = serverRequest.Create(caWithKey, now.AddDays(-1), now.AddDays(397), serial);
        using var serverWithKey = serverPublic.CopyWithPrivateKey(serverKey);

        // Round-trip through PKCS#12 so the private key is a persisted one that SslStream can use on every platform.
        var server = X509CertificateLoader.LoadPkcs12(serverWithKey.Export(X509ContentType.Pkcs12), password: null);
        var ca = X509CertificateLoader.LoadCertificate(caWithKey.RawData);
        return (ca, server);
    }
}

/// <summary>A CA, a server certificate it signed (with key), and a provider key. Dispose when done.</summary>
public sealed class MockApnsCertificateSet : IDisposable
{
    internal MockApnsCertificateSet(X509Certificate2 caCertificate, X509Certificate2 serverCertificate, ECDsa providerKey)
    {
        CaCertificate = caCertificate;
        ServerCertificate = serverCertificate;
        ProviderKey = providerKey;
    }

    /// <summary>The development CA (public part only); trust it to talk to the mock.</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>The TLS server certificate with its private key, for <see cref="MockApnsOptions.ServerCertificate"/>.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The provider key (P-256 private key), for <see cref="MockApnsOptions.ProviderKey"/> and the relay.</summary>
    public ECDsa ProviderKey { get; }

    /// <summary>The provider key as the text of an Apple .p8 file.</summary>
    public string ProviderKeyPem => MockApnsCertificates.ToApplePkcs8Pem(ProviderKey);

    /// <summary>The provider public key as "PUBLIC KEY" PEM.</summary>
    public string ProviderPublicKeyPem => ProviderKey.ExportSubjectPublicKeyInfoPem();

    /// <summary>The CA certificate as PEM.</summary>
    public string CaCertificatePem => CaCertificate.ExportCertificatePem();

    /// <summary>Options for a mock using this set.</summary>
    public MockApnsOptions CreateOptions(string teamId, string keyId, params string[] topics) => new()
    {
        ServerCertificate = ServerCertificate,
        ProviderKey = ProviderKey,
        TeamId = teamId,
        KeyId = keyId,
        Topics = topics,
    };

    /// <summary>
    /// True when <paramref name="certificate"/> chains to <see cref="CaCertificate"/> and matches the host name;
    /// usable as <c>SocketsHttpHandler.SslOptions.RemoteCertificateValidationCallback</c>.
    /// </summary>
    public bool ValidateServerCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var customChain = new X509Chain();
        customChain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        customChain.ChainPolicy.CustomTrustStore.Add(CaCertificate);
        customChain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return customChain.Build(leaf);
    }

    /// <summary>Writes every file (overwriting): ca.pem, server.pem, server.key, server.pfx, apns-key.p8, apns-key.pub.pem.</summary>
    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        WriteCertificateFiles(directory);
        File.WriteAllText(Path.Combine(directory, MockApnsCertificates.ProviderKeyFileName), ProviderKeyPem);
        File.WriteAllText(Path.Combine(directory, MockApnsCertificates.ProviderPublicKeyFileName), ProviderPublicKeyPem + "\n");
    }

    internal void WriteCertificateFiles(string directory)
    {
        File.WriteAllText(Path.Combine(directory, MockApnsCertificates.CaFileName), CaCertificatePem + "\n");
        File.WriteAllText(
            Path.Combine(directory, MockApnsCertificates.ServerCertificateFileName),
            ServerCertificate.ExportCertificatePem() + "\n");
        using (var serverKey = ServerCertificate.GetECDsaPrivateKey()
            ?? throw new InvalidOperationException("The server certificate has no ECDSA private key."))
        {
            File.WriteAllText(
                Path.Combine(directory, MockApnsCertificates.ServerKeyFileName), serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        }

        File.WriteAllBytes(
            Path.Combine(directory, MockApnsCertificates.ServerPfxFileName),
            ServerCertificate.ExportPkcs12(Pkcs12ExportPbeParameters.Pbes2Aes256Sha256, ""));
    }

    /// <summary>Disposes the certificates and the key.</summary>
    public void Dispose()
    {
        CaCertificate.Dispose();
        ServerCertificate.Dispose();
        ProviderKey.Dispose();
    }
}
