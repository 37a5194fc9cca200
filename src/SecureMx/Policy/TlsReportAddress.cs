using SecureMx.Config;
using SecureMx.Mail;

namespace SecureMx.Policy;

/// <summary>
/// The address the hosted domains receive TLS reports at (tlsReporting.reportAddress, RFC 8460 §3 rua=mailto:):
/// with "{domain}" one per hosted domain (tlsrpt@DOMAIN, the default), else one fixed address at a hosted domain
/// for all of them. Mail to it is routed to the TLS report reader (<see cref="RecipientKind.TlsReport"/>), never
/// into a mailbox: the report address wins over a mailbox or alias of the same name.
/// </summary>
public static class TlsReportAddress
{
    public const string DomainToken = "{domain}";

    /// <summary>The queue's "Maildir" of a TLS report recipient: not a directory; the local deliverer hands such recipients to the reader.</summary>
    public const string Target = "(tls-report)";

    /// <summary>The report address of <paramref name="domain"/> (lower case).</summary>
    public static string For(TlsReportingOptions options, string domain) =>
        options.ReportAddress.Replace(DomainToken, domain, StringComparison.OrdinalIgnoreCase).Trim().ToLowerInvariant();

    /// <summary>Whether <paramref name="address"/> (at a hosted domain) is a report address.</summary>
    public static bool Is(TlsReportingOptions options, EnvelopeAddress address) =>
        !address.IsNull && !address.IsAddressLiteral && options.ReportAddress.Length > 0 && address.LookupKey == For(options, address.Domain);

    /// <summary>
    /// The domain a report sent to <paramref name="address"/> may be about: the address's own with a per-domain
    /// address, null (any hosted domain) with one fixed address.
    /// </summary>
    public static string? AddressedDomain(TlsReportingOptions options, string address) =>
        options.ReportAddress.Contains(DomainToken, StringComparison.OrdinalIgnoreCase) && address.LastIndexOf('@') is var at and > 0
            ? address[(at + 1)..].ToLowerInvariant() : null;
}
