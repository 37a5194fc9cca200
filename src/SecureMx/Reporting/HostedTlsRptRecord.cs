using SecureMx.Config;
using SecureMx.Policy;

namespace SecureMx.Reporting;

/// <summary>
/// The <c>_smtp._tls</c> TXT record a hosted domain publishes to receive TLS reports (RFC 8460 §3):
/// <c>v=TLSRPTv1; rua=mailto:ADDR</c> with the report address (tlsReporting.reportAddress), and
/// <c>,https://mta-sts.DOMAIN/tlsrpt</c> while the MTA-STS listener is on and the domain's MTA-STS mode is testing or enforce
/// (listeners.mtaSts takes the POST, §5.4; with mode none no mta-sts.DOMAIN name is published, nor usually its certificate).
/// </summary>
public static class HostedTlsRptRecord
{
    /// <summary>The path of the HTTPS report endpoint on the MTA-STS listener (Host: mta-sts.DOMAIN).</summary>
    public const string HttpsPath = "/tlsrpt";

    public static string OwnerName(string domain) => "_smtp._tls." + domain;

    /// <summary>
    /// The rua URIs, in order: mailto:, then https: with the MTA-STS listener when <paramref name="mtaStsPublished"/>
    /// (the domain's MTA-STS mode is testing or enforce: the mta-sts.DOMAIN records are the ones dns-records prints then).
    /// </summary>
    public static IReadOnlyList<string> Rua(SecureMxOptions options, string domain, bool mtaStsPublished)
    {
        var rua = new List<string> { "mailto:" + TlsReportAddress.For(options.TlsReporting, domain) };
        if (mtaStsPublished && Endpoint.TryParseQuiet(options.Listeners.MtaSts) is not null) rua.Add($"https://mta-sts.{domain}{HttpsPath}");
        return rua;
    }

    /// <summary>The record's text (RFC 8460 §3: "v=TLSRPTv1; rua=URI[,URI]").</summary>
    public static string Text(SecureMxOptions options, string domain, bool mtaStsPublished) =>
        "v=TLSRPTv1; rua=" + string.Join(",", Rua(options, domain, mtaStsPublished));

    /// <summary>The zone line.</summary>
    public static string ZoneLine(SecureMxOptions options, string domain, bool mtaStsPublished, string separator = "\t") =>
        $"{OwnerName(domain)}.{separator}IN{separator}TXT{separator}\"{Text(options, domain, mtaStsPublished)}\"";
}
