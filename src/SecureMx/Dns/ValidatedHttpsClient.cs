using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Tls;

namespace SecureMx.Dns;

/// <summary>
/// The HTTPS client for the requests SecureMx itself makes to one host (the MTA-STS policy fetch,
/// the HTTPS POST of a TLS report): the host's name is resolved through the validating resolver
/// (never the system's: one resolver for everything, and the test bed's names exist only there),
/// its addresses tried in order; its certificate must pass PKIX validation for <see cref="Host"/>
/// (<see cref="PkixTrust"/>: the system's CAs and <c>delivery.trustAnchorsFile</c>); HTTP/1.1 only,
/// redirects are not followed, no proxy, no cookies, no decompression, at most 16 KiB of headers,
/// no connection kept for later. The caller bounds the whole exchange with its own limit; this
/// client bounds only the connection (address lookup, TCP, TLS) by the connect timeout.
/// A client per exchange: they are rare, and <see cref="CertificateVerdict"/> belongs to that one.
/// </summary>
public sealed class ValidatedHttpsClient : IDisposable
{
    private readonly IMailDnsResolver _dns;
    private readonly HttpClient _client;

    /// <param name="host">The host every request goes to: the name the certificate must be valid for.</param>
    /// <param name="connectTimeout">The longest the connection (address lookup, TCP, TLS) may take.</param>
    public ValidatedHttpsClient(IMailDnsResolver dns, PkixTrust trust, string host, TimeSpan connectTimeout, TimeProvider time)
    {
        _dns = dns;
        Host = host;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // a redirect is the caller's answer to judge (RFC 8461 §3.3: never followed)
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = connectTimeout,
            MaxResponseHeadersLength = 16, // KiB: the hosts asked send a few hundred bytes of headers
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, ct),
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = host,
                CertificateChainPolicy = PkixTrust.HandshakeChainPolicy(),
                EnabledSslProtocols = SslProtocols.None,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                // PKIX: valid for the host's name and chained to a trusted root (RFC 8461 §3.3 for the policy host).
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    var verdict = trust.Validate(certificate, chain, host, time.GetUtcNow());
                    CertificateVerdict = verdict;
                    return verdict.Valid;
                },
            },
        };
        _client = new HttpClient(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The host every request goes to.</summary>
    public string Host { get; }

    /// <summary>The verdict on the host's certificate once a handshake got that far; null before.</summary>
    public PkixVerdict? CertificateVerdict { get; private set; }

    /// <summary>
    /// Sends <paramref name="request"/> as HTTP/1.1 with SecureMx's User-Agent and returns once the
    /// status line and headers are read; the body is the caller's to read (or not), within its limit.
    /// A refused certificate, a failed lookup or connection is an <see cref="HttpRequestException"/>.
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Version = HttpVersion.Version11;
        request.VersionPolicy = HttpVersionPolicy.RequestVersionExact;
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("SecureMx", null));
        return _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public void Dispose() => _client.Dispose();

    /// <summary>The connection: the host's addresses from the validating resolver, tried in order until one answers.</summary>
    private async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, CancellationToken ct)
    {
        var addresses = await _dns.ResolveAddressesAsync(endpoint.Host, ct).ConfigureAwait(false);
        if (!addresses.HasAddresses)
        {
            throw new IOException(addresses.IsTemporaryFailure
                ? $"address lookup of {endpoint.Host} failed: {addresses.FailureReason}"
                : $"{endpoint.Host} has no address (A/AAAA)");
        }
        var errors = new List<string>();
        foreach (var address in addresses.Addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endpoint.Port), ct).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                errors.Add($"{address}: {ex.SocketErrorCode}");
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        throw new IOException($"no connection to {endpoint.Host} port {endpoint.Port} ({string.Join(", ", errors)})");
    }
}
