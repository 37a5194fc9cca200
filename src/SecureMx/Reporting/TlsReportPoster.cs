using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Tls;

namespace SecureMx.Reporting;

/// <summary>
/// Delivers a TLS report by HTTPS POST (RFC 8460 §5.4) to an <c>rua=https:</c> URL: the body is the
/// gzip'd JSON as <c>application/tlsrpt+gzip</c>; a 2xx answer is delivery (§5.4: "typically a 200 or
/// 201"), anything else is not. Like the MTA-STS policy fetch, the host is resolved through the
/// validating resolver (never the system's), its certificate must pass PKIX validation for the URL's
/// host (<see cref="PkixTrust"/>: the system's CAs and <c>delivery.trustAnchorsFile</c>), redirects are
/// not followed, and the whole exchange is bounded by <see cref="Timeout"/>.
/// </summary>
public sealed class TlsReportPoster(IMailDnsResolver dns, PkixTrust trust, SecureMxOptions options, TimeProvider? time = null, TimeSpan? timeout = null)
{
    /// <summary>The media type of a gzip'd report (RFC 8460 §5.4, §6).</summary>
    public const string MediaType = "application/tlsrpt+gzip";

    /// <summary>The longest an answer may take, from the connection to the end of its headers.</summary>
    public TimeSpan Timeout { get; } = timeout ?? TimeSpan.FromSeconds(60);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private TimeSpan ConnectTimeout => TimeSpan.FromSeconds(Math.Min(options.Delivery.ConnectTimeoutSeconds, Timeout.TotalSeconds));

    public async Task<TlsReportPostResult> PostAsync(Uri url, byte[] gzip, CancellationToken cancellationToken)
    {
        if (url.Scheme != Uri.UriSchemeHttps) return new(false, $"{url}: not an https URL");
        PkixVerdict? verdict = null;
        using var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // a report goes where the policy domain's record says, nowhere else
            UseProxy = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = ConnectTimeout,
            MaxResponseHeadersLength = 16, // KiB
            PooledConnectionLifetime = TimeSpan.Zero,
            ConnectCallback = (context, ct) => ConnectAsync(context.DnsEndPoint, ct),
            SslOptions = new SslClientAuthenticationOptions
            {
                TargetHost = url.IdnHost,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                EnabledSslProtocols = SslProtocols.None,
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                {
                    verdict = trust.Validate(certificate, chain, url.IdnHost, _time.GetUtcNow());
                    return verdict.Value.Valid;
                },
            },
        };
        using var client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            using var content = new ByteArrayContent(gzip);
            content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = content,
            };
            request.Headers.UserAgent.Add(new ProductInfoHeaderValue("SecureMx", null));
            // Only the status line and headers are read: the body of the answer does not matter.
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            var reason = Shorten(response.ReasonPhrase ?? "");
            return status is >= 200 and < 300
                ? new(true, $"{url}: {status} {reason}".TrimEnd())
                : new(false, $"{url}: answered {status} {reason}".TrimEnd() + (status is >= 300 and < 400 ? " (redirects are not followed)" : ""));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(false, $"{url}: no answer within {Timeout.TotalSeconds:0} s");
        }
        catch (HttpRequestException) when (verdict is { Valid: false } rejected)
        {
            return new(false, $"{url}: the certificate of {url.IdnHost} is not valid: {rejected.Detail}");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return new(false, $"{url}: {Innermost(ex).Message}");
        }
    }

    /// <summary>The connection: the host's addresses from the validating resolver, tried in order.</summary>
    private async ValueTask<Stream> ConnectAsync(DnsEndPoint endpoint, CancellationToken ct)
    {
        var addresses = await dns.ResolveAddressesAsync(endpoint.Host, ct).ConfigureAwait(false);
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

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
