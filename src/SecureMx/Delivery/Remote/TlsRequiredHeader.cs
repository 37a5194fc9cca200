using System.Text;
using SecureMx.Mail;
using SecureMx.Policy;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// The "TLS-Required: No" header field (RFC 8689 §3): the sender asks that the recipient's own TLS
/// policies (DANE TLSA records, an MTA-STS policy) be ignored for this message, which then goes with
/// opportunistic TLS (STARTTLS when offered, RFC 8689 §4.2.2). SecureMx honours it only
/// (<see cref="Decide"/>) for a message
/// <list type="bullet">
/// <item>submitted by one of its own accounts (a submission login, or <c>securemx sendmail</c>): the
/// field relaxes security, and the author of a message that arrived from elsewhere (forwarded by an
/// alias) is not known — anyone on an earlier plaintext hop could have added it;</item>
/// <item>without REQUIRETLS (RFC 8689 §4.1: the field is then ignored);</item>
/// <item>whose effective level demands no TLS of its own: a customer's mandatory TLS, an operator's
/// destination entry of <c>dane</c> or stricter, and a default of <c>encrypt</c> or stricter are never
/// lowered by a header (the customer's setting is the customer's choice, not the mail program's).</item>
/// </list>
/// </summary>
public static class TlsRequiredHeader
{
    /// <summary>The most of a message read to find the end of its header section.</summary>
    public const int MaxHeaderBytes = 256 * 1024;

    /// <summary>Whether the field applies to this message, and why not when it is there but does not.</summary>
    public sealed record Decision(bool Present, bool Honoured, string? NotHonoured)
    {
        public static readonly Decision Absent = new(false, false, null);
    }

    /// <summary>
    /// The decision for one message and recipient domain. <paramref name="open"/> is read (its header
    /// section only) for messages of the instance's own accounts without REQUIRETLS; others are never read.
    /// </summary>
    public static Decision Decide(Envelope envelope, EffectiveTlsPolicy policy, Func<Stream> open)
    {
        if (envelope.Parameters.RequireTls || envelope.Client.Account is null) return Decision.Absent;
        bool present;
        using (var stream = open()) present = SaysNo(stream);
        if (!present) return Decision.Absent;
        if (policy.Level.RequiresTls()) return new(true, false, $"the TLS level {policy} is mandatory");
        if (policy.Destination is { Level: >= OutboundTlsLevel.Dane } entry) return new(true, false, $"the operator's {entry.Origin} is {entry.Level.Name()}");
        return new(true, true, null);
    }

    /// <summary>
    /// Whether the header section holds "TLS-Required: No" (field name and value in any case, folded or
    /// not; RFC 8689 §3). Reads up to the empty line that ends the header section, at most
    /// <see cref="MaxHeaderBytes"/>: a header section longer than that is not searched further.
    /// </summary>
    public static bool SaysNo(Stream message)
    {
        var buffer = new byte[MaxHeaderBytes];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = message.Read(buffer, length, buffer.Length - length);
            if (n == 0) break;
            length += n;
            if (HeaderEnd(buffer.AsSpan(0, length)) >= 0) break;
        }
        var end = HeaderEnd(buffer.AsSpan(0, length));
        var header = Encoding.Latin1.GetString(buffer, 0, end >= 0 ? end : length);
        // Unfold (RFC 5322 §2.2.3), then one field per line.
        var unfolded = header.Replace("\r\n ", " ").Replace("\r\n\t", " ").Replace("\n ", " ").Replace("\n\t", " ");
        foreach (var line in unfolded.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0 || !line.AsSpan(0, colon).TrimEnd().Equals("TLS-Required", StringComparison.OrdinalIgnoreCase)) continue;
            if (line.AsSpan(colon + 1).Trim().TrimEnd('\r').Trim().Equals("No", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>The offset of the empty line that ends the header section (CRLF CRLF or LF LF), or -1.</summary>
    private static int HeaderEnd(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith("\r\n"u8) || bytes.StartsWith("\n"u8)) return 0;
        int crlf = bytes.IndexOf("\r\n\r\n"u8);
        int lf = bytes.IndexOf("\n\n"u8);
        return crlf < 0 ? lf : lf < 0 ? crlf : Math.Min(crlf, lf);
    }
}
