using System.Globalization;
using System.Text;
using SecureMx.Spool;

namespace SecureMx.Delivery;

/// <summary>
/// The trace fields prepended at final delivery (RFC 5321 §4.4): Return-Path with the envelope
/// sender, and a Received header that names the client, our host, the protocol (ESMTPS when TLS
/// was used, RFC 3848) and the TLS protocol and cipher, in the form Postfix uses.
/// </summary>
public static class TraceHeaders
{
    public static byte[] Build(Envelope envelope, string recipient, string hostname)
    {
        var c = envelope.Client;
        var sb = new StringBuilder(256);
        sb.Append("Return-Path: <").Append(envelope.Sender).Append(">\r\n");
        // IPv6 address literals carry the "IPv6:" tag (RFC 5321 §4.1.3).
        var literal = c.ClientIp.Contains(':', StringComparison.Ordinal) ? "IPv6:" + c.ClientIp : c.ClientIp;
        sb.Append("Received: from ").Append(Clean(c.Helo)).Append(" ([").Append(literal).Append("])\r\n");
        if (c.Tls is not null)
        {
            sb.Append("\t(using ").Append(c.Tls.Protocol).Append(" with cipher ").Append(c.Tls.CipherSuite).Append(")\r\n");
        }
        sb.Append("\tby ").Append(hostname).Append(" (SecureMx) with ").Append(c.Protocol).Append(" id ").Append(envelope.Id).Append("\r\n");
        sb.Append("\tfor <").Append(recipient).Append(">; ").Append(Rfc5322Date(envelope.ReceivedAt)).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>RFC 5322 §3.3 date-time.</summary>
    public static string Rfc5322Date(DateTimeOffset t) =>
        t.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) +
        (t.Offset < TimeSpan.Zero ? "-" : "+") + t.Offset.ToString("hhmm", CultureInfo.InvariantCulture);

    /// <summary>The HELO name is client-supplied: keep it to printable ASCII that cannot break the header's syntax (as Postfix does).</summary>
    private static string Clean(string helo)
    {
        var sb = new StringBuilder(helo.Length);
        foreach (var ch in helo)
        {
            sb.Append(ch < 33 || ch > 126 || ch is '(' or ')' or '\\' or '[' or ']' ? '?' : ch);
        }
        return sb.Length == 0 ? "unknown" : sb.ToString();
    }
}
