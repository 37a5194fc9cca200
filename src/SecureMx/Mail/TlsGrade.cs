using System.Net.Security;

namespace SecureMx.Mail;

/// <summary>
/// What a connection's TLS means under mandatory TLS: the product's "TLS 1.2 or 1.3 with secure
/// algorithms" (ECDHE key exchange, AEAD ciphers: AES-GCM, ChaCha20-Poly1305).
/// </summary>
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
    /// <summary>
    /// The suites of "secure TLS", the strict profile's cipher policy. TLS 1.3 suites must be present
    /// when TLS 1.3 is enabled, or every handshake fails with a misleading "RequireEncryption" error.
    /// </summary>
    public static IReadOnlyList<TlsCipherSuite> StrictSuites { get; } =
    [
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];

    private static readonly HashSet<string> StrictSuiteNames = StrictSuites.Select(s => s.ToString()).ToHashSet(StringComparer.Ordinal);

    /// <summary>TLS 1.2/1.3 with one of <see cref="StrictSuites"/>, by the names the logs write ("TLSv1.3", "TLS_AES_256_GCM_SHA384").</summary>
    public static bool IsStrictSuite(string protocol, string suite) =>
        protocol is "TLSv1.2" or "TLSv1.3" && StrictSuiteNames.Contains(suite);

    /// <summary>The grade of a protocol and cipher as the session and delivery logs write them (null when no TLS).</summary>
    public static TlsGrade Of(string? protocol, string? cipher) =>
        protocol is null ? TlsGrade.None
        : cipher is not null && IsStrictSuite(protocol, cipher) ? TlsGrade.Secure
        : TlsGrade.Weak;
}
