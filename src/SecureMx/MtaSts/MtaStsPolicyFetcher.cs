using System.Text;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Telemetry;
using SecureMx.Tls;

namespace SecureMx.MtaSts;

/// <summary>
/// Discovers and fetches a recipient domain's MTA-STS policy (RFC 8461 §3): the "_mta-sts" TXT
/// record through the validating resolver, then <c>GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt</c>.
/// The policy host's name is resolved through the same resolver (never the system's), its
/// certificate must pass PKIX validation for "mta-sts.DOMAIN", redirects are not followed
/// (<see cref="ValidatedHttpsClient"/>), only a 200 with a text/plain body of at most
/// <see cref="MtaStsPolicy.MaxBodyBytes"/> counts (§3.3), and the whole
/// fetch — connection, TLS, headers, body — is bounded by <c>mtaSts.fetchTimeoutSeconds</c>, so a
/// host that sends its answer a byte at a time cannot hold it longer. Each failure carries its
/// RFC 8460 result type (<see cref="MtaStsFailure"/>).
/// </summary>
public sealed class MtaStsPolicyFetcher(IMailDnsResolver dns, PkixTrust trust, SecureMxOptions options, TimeProvider? time = null) : IMtaStsPolicyFetcher
{
    /// <summary>The policy's path on the policy host (RFC 8461 §3.3).</summary>
    public const string WellKnownPath = "/.well-known/mta-sts.txt";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    private TimeSpan FetchTimeout => TimeSpan.FromSeconds(options.MtaSts.FetchTimeoutSeconds);

    // The connection (address lookup, TCP, TLS) within the fetch's limit: delivery's connect timeout, never longer than the whole fetch.
    private TimeSpan ConnectTimeout => TimeSpan.FromSeconds(Math.Min(options.Delivery.ConnectTimeoutSeconds, options.MtaSts.FetchTimeoutSeconds));

    /// <summary>The policy URL of <paramref name="domain"/> (the port only when it is not 443: test set-ups).</summary>
    public Uri PolicyUrl(string domain) =>
        new UriBuilder(Uri.UriSchemeHttps, MtaStsTxtRecord.PolicyHost(domain), options.MtaSts.PolicyPort, WellKnownPath).Uri;

    /// <inheritdoc />
    public async Task<MtaStsDiscovery> DiscoverAsync(string domain, CancellationToken cancellationToken = default)
    {
        var txt = await dns.ResolveTxtAsync(MtaStsTxtRecord.OwnerName(domain), cancellationToken).ConfigureAwait(false);
        switch (txt.Kind)
        {
            case TxtResolutionKind.TemporaryFailure:
                return MtaStsDiscovery.Failed($"TXT lookup of {MtaStsTxtRecord.OwnerName(domain)} failed: {txt.FailureReason}");
            case TxtResolutionKind.None:
                return MtaStsDiscovery.NoRecord;
        }
        var (record, error) = MtaStsTxtRecord.Select(txt.Records);
        if (record is not null) return MtaStsDiscovery.Found(record);
        // RFC 8461 §3.1: several or broken "v=STSv1" records: the domain has no available policy.
        return error is null ? MtaStsDiscovery.NoRecord : MtaStsDiscovery.InvalidRecord($"TXT {MtaStsTxtRecord.OwnerName(domain)}: {error}");
    }

    /// <inheritdoc />
    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken = default)
    {
        var result = await FetchOnceAsync(domain, cancellationToken).ConfigureAwait(false);
        SecureMxMetrics.MtaStsFetches.Add(1, new KeyValuePair<string, object?>("result", result.Failure?.Type.Name() ?? "ok"));
        return result;
    }

    private async Task<MtaStsFetchResult> FetchOnceAsync(string domain, CancellationToken cancellationToken)
    {
        var host = MtaStsTxtRecord.PolicyHost(domain);
        var url = PolicyUrl(domain);
        // A client per fetch: fetches are rare (a new id, a refresh), and the certificate verdict belongs to this one.
        // RFC 8461 §3.3: redirects are not followed; the certificate must be valid for "mta-sts.DOMAIN" (PKIX).
        using var client = new ValidatedHttpsClient(dns, trust, host, ConnectTimeout, _time);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(FetchTimeout);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await client.SendAsync(request, limit.Token).ConfigureAwait(false);
            var status = (int)response.StatusCode;
            if (status is >= 300 and < 400)
            {
                var to = response.Headers.Location is { } location ? $" to {Shorten(location.OriginalString)}" : "";
                return Fail(MtaStsFailure.FetchError($"{url} answered {status} (a redirect{to}); redirects are not followed (RFC 8461 §3.3)"));
            }
            if (status != 200) return Fail(MtaStsFailure.FetchError($"{url} answered {status} {Shorten(response.ReasonPhrase ?? "")}".TrimEnd()));
            // RFC 8461 §3.3: the media type is text/plain; parameters (charset) do not matter.
            var mediaType = response.Content.Headers.ContentType?.MediaType;
            if (!string.Equals(mediaType, "text/plain", StringComparison.OrdinalIgnoreCase))
                return Fail(MtaStsFailure.Invalid($"{url}: Content-Type is {(mediaType is null ? "missing" : Shorten(mediaType))}, not text/plain"));
            if (response.Content.Headers.ContentLength is > MtaStsPolicy.MaxBodyBytes and var declared)
                return Fail(MtaStsFailure.Invalid($"{url}: the body is {declared} bytes, more than the {MtaStsPolicy.MaxBodyBytes} a policy may have"));
            var (body, length) = await ReadBoundedAsync(response.Content, limit.Token).ConfigureAwait(false);
            if (length > MtaStsPolicy.MaxBodyBytes)
                return Fail(MtaStsFailure.Invalid($"{url}: the body is longer than the {MtaStsPolicy.MaxBodyBytes} bytes a policy may have (not read further)"));
            string text;
            try
            {
                text = StrictUtf8.GetString(body, 0, length);
            }
            catch (DecoderFallbackException)
            {
                return Fail(MtaStsFailure.Invalid($"{url}: the body is not UTF-8 text"));
            }
            var (policy, error) = MtaStsPolicy.Parse(text);
            return policy is null ? Fail(MtaStsFailure.Invalid($"{url}: not a valid policy: {error}")) : MtaStsFetchResult.Fetched(policy, text);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The fetch's own limit, or the handler's connect timeout.
            return Fail(MtaStsFailure.FetchError(limit.IsCancellationRequested
                ? $"{url}: no complete answer within {options.MtaSts.FetchTimeoutSeconds} s (mtaSts.fetchTimeoutSeconds)"
                : $"{url}: no connection within {ConnectTimeout.TotalSeconds:0} s"));
        }
        catch (HttpRequestException) when (client.CertificateVerdict is { Valid: false } rejected)
        {
            return Fail(MtaStsFailure.WebPki($"{host}: {rejected.Detail}"));
        }
        catch (HttpRequestException ex)
        {
            return Fail(MtaStsFailure.FetchError($"{url}: {Describe(ex)}"));
        }
        catch (IOException ex)
        {
            return Fail(MtaStsFailure.FetchError($"{url}: the connection failed while reading the policy: {Innermost(ex).Message}"));
        }
    }

    private static MtaStsFetchResult Fail(MtaStsFailure failure) => MtaStsFetchResult.Failed(failure);

    /// <summary>Reads at most one byte more than a policy may have: a hostile host's endless body is never read beyond that.</summary>
    private static async Task<(byte[] Body, int Length)> ReadBoundedAsync(HttpContent content, CancellationToken ct)
    {
        var buffer = new byte[MtaStsPolicy.MaxBodyBytes + 1];
        var length = 0;
        var stream = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            while (length < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false);
                if (read == 0) break;
                length += read;
            }
        }
        return (buffer, length);
    }

    private static string Describe(HttpRequestException ex)
    {
        var inner = Innermost(ex);
        return inner == ex ? ex.Message : $"{ex.HttpRequestError}: {inner.Message}";
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null) ex = ex.InnerException;
        return ex;
    }

    private static string Shorten(string s) => s.Length <= 100 ? s : s[..100] + "…";
}
