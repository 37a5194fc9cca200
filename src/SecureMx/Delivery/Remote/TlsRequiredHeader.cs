using System.Buffers;
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
/// alias) is not known — anyone on an earlier plaintext hop could have added it; or a TLS report SecureMx
/// made itself (RFC 8460 §5.3: reports are delivered despite TLS failures);</item>
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

    /// <summary>How much is asked of the spool per read: a usual header section ends within the first read, and the body is never read.</summary>
    public const int ReadSize = 4096;

    /// <summary>Whether the field applies to this message, and why not when it is there but does not.</summary>
    public sealed record Decision(bool Present, bool Honoured, string? NotHonoured)
    {
        public static readonly Decision Absent = new(false, false, null);
    }

    /// <summary>
    /// The decision for one message and recipient domain. <paramref name="open"/> is read (its header
    /// section only) for messages of the instance's own accounts without REQUIRETLS; others are never read.
    /// </summary>
    public static async Task<Decision> DecideAsync(Envelope envelope, EffectiveTlsPolicy policy, Func<Stream> open, CancellationToken ct)
    {
        // A TLS report SecureMx generated is its own author too (RFC 8460 §5.3: delivered despite TLS failures).
        if (envelope.Parameters.RequireTls || (envelope.Client.Account is null && !envelope.Client.IsTlsReport)) return Decision.Absent;
        bool present;
        await using (var stream = open()) present = await SaysNoAsync(stream, ct).ConfigureAwait(false);
        if (!present) return Decision.Absent;
        if (policy.Level.RequiresTls()) return new(true, false, $"the TLS level {policy} is mandatory");
        if (policy.Destination is { Level: >= OutboundTlsLevel.Dane } entry) return new(true, false, $"the operator's {entry.Origin} is {entry.Level.Name()}");
        return new(true, true, null);
    }

    /// <summary>
    /// Whether the header section holds "TLS-Required: No" (field name and value in any case, folded or
    /// not; RFC 8689 §3). Reads, <see cref="ReadSize"/> bytes at a time, up to the empty line that ends
    /// the header section, at most <see cref="MaxHeaderBytes"/>: a header section longer than that is not
    /// searched further. The buffer is the shared pool's, not a fresh one per delivery attempt.
    /// </summary>
    public static async Task<bool> SaysNoAsync(Stream message, CancellationToken ct)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxHeaderBytes);
        int length = 0;
        try
        {
            int end = -1;
            while (length < MaxHeaderBytes)
            {
                int n = await message.ReadAsync(buffer.AsMemory(length, Math.Min(ReadSize, MaxHeaderBytes - length)), ct).ConfigureAwait(false);
                if (n == 0) break;
                // The blank line may straddle two reads: look again from 3 bytes before the new ones.
                int from = Math.Max(0, length - 3);
                length += n;
                end = HeaderEnd(buffer.AsSpan(0, length), from);
                if (end >= 0) break;
            }
            return HasNo(Encoding.Latin1.GetString(buffer, 0, end >= 0 ? end : length));
        }
        finally
        {
            // The header of someone's message: not left in a shared buffer.
            Array.Clear(buffer, 0, length);
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether the header section (text up to the blank line) holds "TLS-Required: No".</summary>
    private static bool HasNo(string header)
    {
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

    /// <summary>The offset of the empty line that ends the header section (CRLF CRLF or LF LF), or -1; searched from <paramref name="from"/> on.</summary>
    private static int HeaderEnd(ReadOnlySpan<byte> bytes, int from)
    {
        if (from == 0 && (bytes.StartsWith("\r\n"u8) || bytes.StartsWith("\n"u8))) return 0;
        var rest = bytes[from..];
        int crlf = rest.IndexOf("\r\n\r\n"u8);
        int lf = rest.IndexOf("\n\n"u8);
        int end = crlf < 0 ? lf : lf < 0 ? crlf : Math.Min(crlf, lf);
        return end < 0 ? -1 : from + end;
    }
}
