using SecureMx.Reporting;

namespace SecureMx.Dashboard;

/// <summary>
/// The domain page's TLS reporting section (Pages/Shared/_TlsReports.cshtml): the <c>_smtp._tls</c> record to publish and
/// what the reports received in the last <see cref="Days"/> days say; <see cref="Summary"/> null where the instance keeps none.
/// </summary>
public sealed record TlsReportsSection(string Domain, string Record, ReceivedTlsReportSummary? Summary)
{
    public const int Days = 30;
}
