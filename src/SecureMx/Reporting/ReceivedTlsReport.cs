namespace SecureMx.Reporting;

/// <summary>
/// A TLS report another organisation sent about a hosted domain (RFC 8460 §4.4), as <see cref="TlsReportReader"/>
/// accepted it: every field checked and bounded.
/// </summary>
public sealed record ReceivedTlsReport(
    string Organization,
    string? Contact,
    string ReportId,
    DateTimeOffset Start,
    DateTimeOffset End,
    IReadOnlyList<ReceivedTlsReportPolicy> Policies);

/// <summary>One policy of a received report: its summary and failure-details (RFC 8460 §4.4).</summary>
public sealed record ReceivedTlsReportPolicy(
    string PolicyDomain,
    string PolicyType,
    IReadOnlyList<string> PolicyStrings,
    long Successful,
    long Failed,
    IReadOnlyList<TlsReportFailure> Failures);
