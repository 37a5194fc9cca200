using SecureMx.Config;

namespace SecureMx.Reporting;

/// <summary>
/// Who our TLS reports say sent them (RFC 8460 §4.4 organization-name and contact-info, §5.1 the
/// submitter of the file name): <c>tlsReporting.organizationName</c> or the hostname, and
/// <c>tlsReporting.contactInfo</c> or tlsrpt-noreply@HOSTNAME; the submitter is the hostname.
/// </summary>
public sealed record TlsReportSubmitter(string OrganizationName, string ContactInfo, string Domain)
{
    public static TlsReportSubmitter From(SecureMxOptions options)
    {
        var host = options.Hostname.TrimEnd('.').ToLowerInvariant();
        var r = options.TlsReporting;
        return new TlsReportSubmitter(r.OrganizationName.Length > 0 ? r.OrganizationName : host, r.ContactInfo.Length > 0 ? r.ContactInfo : $"tlsrpt-noreply@{host}", host);
    }

    /// <summary>The report of <paramref name="policyDomain"/> for <paramref name="day"/> (00:00 UTC) from its counted sessions.</summary>
    public TlsReport Report(string policyDomain, DateTimeOffset day, IReadOnlyList<Store.TlsSessionCount> counts) =>
        TlsReport.Build(OrganizationName, ContactInfo, Domain, policyDomain, day, counts);
}
