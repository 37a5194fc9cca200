using System.Globalization;

namespace SecureMx.Client;

/// <summary>What a server announced in its EHLO reply (RFC 5321 §4.1.1.1 and each extension's RFC).</summary>
public sealed record ServerCapabilities(
    bool Esmtp,
    bool StartTls,
    bool Pipelining,
    long? MaxSize,
    bool EightBitMime,
    bool SmtpUtf8,
    bool Dsn,
    bool Chunking,
    bool EnhancedStatusCodes,
    bool RequireTls = false)
{
    public static readonly ServerCapabilities Helo = new(false, false, false, null, false, false, false, false, false);

    public static ServerCapabilities Parse(SmtpClientReply ehlo)
    {
        bool Has(string keyword) => ehlo.Lines.Skip(1).Any(l => l.Equals(keyword, StringComparison.OrdinalIgnoreCase) || l.StartsWith(keyword + " ", StringComparison.OrdinalIgnoreCase));
        long? size = null;
        var sizeLine = ehlo.Lines.Skip(1).FirstOrDefault(l => l.StartsWith("SIZE", StringComparison.OrdinalIgnoreCase));
        if (sizeLine is not null && sizeLine.Length > 5 && long.TryParse(sizeLine[5..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) size = n;
        return new ServerCapabilities(true, Has("STARTTLS"), Has("PIPELINING"), size, Has("8BITMIME"), Has("SMTPUTF8"), Has("DSN"), Has("CHUNKING"), Has("ENHANCEDSTATUSCODES"),
            Has("REQUIRETLS")); // RFC 8689 §2: only ever offered inside TLS
    }
}
