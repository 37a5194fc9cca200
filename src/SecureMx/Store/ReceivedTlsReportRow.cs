namespace SecureMx.Store;

/// <summary>
/// One policy of one TLS report received for a hosted domain (tls_reports_received). <see cref="Fingerprint"/>
/// names the report and policy (the same report by mail and by HTTPS, or sent twice, is one row);
/// <see cref="Details"/> is the failure-details as JSON; <see cref="Source"/> "mail" or "https".
/// </summary>
public sealed record ReceivedTlsReportRow(
    DateTimeOffset ReceivedAt,
    string Domain,
    string Fingerprint,
    string Organization,
    string? Contact,
    string ReportId,
    DateTimeOffset Start,
    DateTimeOffset End,
    string PolicyType,
    string PolicyString,
    long Successful,
    long Failed,
    string Details,
    string Source);
