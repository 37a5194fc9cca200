namespace SecureMx.Tls;

/// <summary>What a logged connection's TLS means under mandatory TLS (DESIGN.md §1: TLS 1.2/1.3, ECDHE, AEAD).</summary>
public enum TlsGrade
{
    /// <summary>No TLS at all (plaintext, or TLS not offered / failed): refused under mandatory TLS.</summary>
    None,

    /// <summary>TLS, but an old protocol or a cipher outside the strict profile: refused under mandatory TLS.</summary>
    Weak,

    /// <summary>TLS 1.2/1.3 with a strict-profile suite: passes mandatory TLS.</summary>
    Secure,
}

public static class TlsGrading
{
    /// <summary>The grade of a protocol and cipher as the session and delivery logs write them (null when no TLS).</summary>
    public static TlsGrade Of(string? protocol, string? cipher) =>
        protocol is null ? TlsGrade.None
        : cipher is not null && TlsProfile.IsStrictSuite(protocol, cipher) ? TlsGrade.Secure
        : TlsGrade.Weak;
}
