namespace SecureMx.Mail;

/// <summary>Who handed the message to us, and how (for the Received header, RFC 5321 §4.4).</summary>
public sealed record ClientTrace(
    string Listener,
    string ClientIp,
    string Helo,
    string Protocol,
    NegotiatedTls? Tls,
    string? Account)
{
    /// <summary>
    /// The listener name of a TLS report SecureMx spooled itself (Reporting/TlsReportMail): its delivery
    /// honours its "TLS-Required: No" and is not counted in the next report (RFC 8460 §5.3).
    /// </summary>
    public const string TlsReportListener = "tlsrpt";

    /// <summary>Whether this message is a TLS report SecureMx generated.</summary>
    public bool IsTlsReport => Listener == TlsReportListener && Protocol == "local";
}
