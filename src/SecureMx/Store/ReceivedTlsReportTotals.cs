namespace SecureMx.Store;

/// <summary>The received TLS reports of one organisation and policy type for a domain, summed (<see cref="TlsReportRepository.Totals"/>).</summary>
public sealed record ReceivedTlsReportTotals(string Organization, string PolicyType, long Reports, long Successful, long Failed, DateTimeOffset LastEnd);
