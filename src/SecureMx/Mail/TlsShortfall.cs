namespace SecureMx.Mail;

/// <summary>
/// What a session lacked for inbound mandatory TLS (the refused-mail report's "lacked" column),
/// from the protocol and cipher the session log wrote; decided by <see cref="TlsGrading"/>.
/// </summary>
public enum TlsShortfall
{
    /// <summary>No TLS at all: plaintext, or a failed handshake.</summary>
    NoTls,

    /// <summary>TLS below 1.2 (SSL 3, TLS 1.0, TLS 1.1).</summary>
    Protocol,

    /// <summary>TLS 1.2 or 1.3, but a cipher suite outside the strict profile.</summary>
    Cipher,
}

public static class TlsShortfalls
{
    /// <summary>What TLS in this state lacks under mandatory TLS; null when it passes (strict profile).</summary>
    public static TlsShortfall? Of(string? protocol, string? cipher) => TlsGrading.Of(protocol, cipher) switch
    {
        TlsGrade.Secure => null,
        TlsGrade.None => TlsShortfall.NoTls,
        _ when protocol is not ("TLSv1.2" or "TLSv1.3") => TlsShortfall.Protocol,
        _ => TlsShortfall.Cipher,
    };

    /// <summary>The word the CLI and the digest write: "no-tls", "protocol", "cipher".</summary>
    public static string Name(this TlsShortfall s) => s switch
    {
        TlsShortfall.NoTls => "no-tls",
        TlsShortfall.Protocol => "protocol",
        _ => "cipher",
    };
}
