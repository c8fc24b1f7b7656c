using System.Net;

namespace Relay.Bench;

/// <summary>The standalone mock APNs's <c>/control/*</c> endpoints, over its own HTTP/2 TLS listener.</summary>
internal static class MockControl
{
    /// <summary>A client for the local development mock, whose self-made CA the benchmark does not install.</summary>
    public static HttpClient CreateClient(Uri mock) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true }, // the local dev mock only
    })
    { BaseAddress = mock, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
}
