namespace SecureMx.Dashboard.Text;

/// <summary>Texts of the domain page's TLS reporting section (TlsReportText.resx, TlsReportText.de.resx).</summary>
public sealed class TlsReportText;
