using System.Net.Http.Headers;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Tls;

namespace SecureMx.Reporting;

/// <summary>
/// Delivers a TLS report by HTTPS POST (RFC 8460 §5.4) to an <c>rua=https:</c> URL: the body is the
/// gzip'd JSON as <c>application/tlsrpt+gzip</c>; a 2xx answer is delivery (§5.4: "typically a 200 or
/// 201"), anything else is not. Like the MTA-STS policy fetch, the host is resolved through the
/// validating resolver (never the system's), its certificate must pass PKIX validation for the URL's
/// host, redirects are not followed (<see cref="ValidatedHttpsClient"/>), and the whole exchange is
/// bounded by <see cref="Timeout"/>.
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
        using var client = new ValidatedHttpsClient(dns, trust, url.IdnHost, ConnectTimeout, _time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(Timeout);
        try
        {
            using var content = new ByteArrayContent(gzip);
            content.Headers.ContentType = new MediaTypeHeaderValue(MediaType);
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
            // Only the status line and headers are read: the body of the answer does not matter.
            using var response = await client.SendAsync(request, limit.Token).ConfigureAwait(false);
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
        catch (HttpRequestException) when (client.CertificateVerdict is { Valid: false } rejected)
        {
            return new(false, $"{url}: the certificate of {url.IdnHost} is not valid: {rejected.Detail}");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return new(false, $"{url}: {Innermost(ex).Message}");
        }
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
