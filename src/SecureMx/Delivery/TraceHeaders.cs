using System.Globalization;
using System.Text;
using SecureMx.Mail;

namespace SecureMx.Delivery;

/// <summary>
/// Trace fields (RFC 5321 §4.4): a Received header on every message we pass on — to a Maildir or
/// to the next server — naming the client, our host, the protocol (ESMTPS when TLS was used,
/// ESMTPSA when the client logged in, RFC 3848) and the TLS protocol and cipher, in the form
/// Postfix uses; at final delivery also Return-Path with the envelope sender.
/// </summary>
public static class TraceHeaders
{
    /// <summary>Return-Path, Received and the Authentication-Results of an inbound message, for final delivery into a mailbox.</summary>
    /// <param name="node">The node's name (node.name), in the comment after the host: which of several nodes took the message.</param>
    public static byte[] Build(Envelope envelope, string recipient, string hostname, string? node = null) =>
        Encoding.UTF8.GetBytes($"Return-Path: <{envelope.Sender}>\r\n" + ReceivedText(envelope, recipient, hostname, node) + envelope.AuthenticationResults);

    /// <summary>
    /// Received and the Authentication-Results of an inbound message, for the hand-over to the mailbox
    /// server (LMTP: final delivery, RFC 2033, so the results travel with it; the mailbox server adds Return-Path).
    /// </summary>
    public static byte[] ReceivedForMailbox(Envelope envelope, string? recipient, string hostname, string? node = null) =>
        Encoding.UTF8.GetBytes(ReceivedText(envelope, recipient, hostname, node) + envelope.AuthenticationResults);

    /// <summary>Received alone, for relaying; <paramref name="recipient"/> only when the transaction has exactly one (no disclosure of Bcc).</summary>
    public static byte[] Received(Envelope envelope, string? recipient, string hostname, string? node = null) =>
        Encoding.UTF8.GetBytes(ReceivedText(envelope, recipient, hostname, node));

    private static string ReceivedText(Envelope envelope, string? recipient, string hostname, string? node)
    {
        var c = envelope.Client;
        var sb = new StringBuilder(256);
        // IPv6 address literals carry the "IPv6:" tag (RFC 5321 §4.1.3).
        var literal = c.ClientIp.Contains(':', StringComparison.Ordinal) ? "IPv6:" + c.ClientIp : c.ClientIp;
        sb.Append("Received: from ").Append(Clean(c.Helo)).Append(" ([").Append(literal).Append("])\r\n");
        if (c.Tls is not null)
        {
            sb.Append("\t(using ").Append(c.Tls.Protocol).Append(" with cipher ").Append(c.Tls.CipherSuite).Append(")\r\n");
        }
        // The node name in the comment after "by" (RFC 5321 §4.4: a CFWS comment; node.name has no parenthesis or backslash).
        sb.Append("\tby ").Append(hostname).Append(node is null ? " (SecureMx)" : $" (SecureMx node {node})").Append(" with ").Append(c.Protocol).Append(" id ").Append(envelope.Id);
        if (recipient is not null) sb.Append("\r\n\tfor <").Append(recipient).Append('>');
        sb.Append("; ").Append(Rfc5322Date(envelope.ReceivedAt)).Append("\r\n");
        return sb.ToString();
    }

    /// <summary>RFC 5322 §3.3 date-time.</summary>
    public static string Rfc5322Date(DateTimeOffset t) =>
        t.ToString("ddd, dd MMM yyyy HH:mm:ss ", CultureInfo.InvariantCulture) +
        (t.Offset < TimeSpan.Zero ? "-" : "+") + t.Offset.ToString("hhmm", CultureInfo.InvariantCulture);

    /// <summary>
    /// The HELO name is client-supplied: keep it to printable ASCII that cannot break the header's syntax (as Postfix does).
    /// A valid address literal (<c>[192.0.2.1]</c>, <c>[IPv6:::1]</c>, RFC 5321 §4.1.3) keeps its brackets.
    /// </summary>
    private static string Clean(string helo) =>
        SmtpAddressParser.IsAddressLiteral(helo) ? "[" + Sanitise(helo[1..^1]) + "]" : Sanitise(helo);

    private static string Sanitise(string helo)
    {
        var sb = new StringBuilder(helo.Length);
        foreach (var ch in helo)
        {
            sb.Append(ch < 33 || ch > 126 || ch is '(' or ')' or '\\' or '[' or ']' ? '?' : ch);
        }
        return sb.Length == 0 ? "unknown" : sb.ToString();
    }
}
