namespace SecureMx.Tls;

/// <summary>Which check of <see cref="PkixTrust"/> a certificate failed first (TLS reporting counts them apart: RFC 8460 §4.3.1).</summary>
public enum PkixFailure
{
    /// <summary>Valid: it chains to a trusted CA, is in its validity period, and names the host.</summary>
    None,

    /// <summary>The server sent no certificate.</summary>
    NoCertificate,

    /// <summary>No path to a trusted CA (untrusted or self-signed root, intermediate missing, bad signature, not for server authentication).</summary>
    NotTrusted,

    /// <summary>The certificate or one of its chain is expired or not yet valid.</summary>
    Expired,

    /// <summary>The chain is trusted, but the certificate does not name the host (RFC 6125).</summary>
    NameMismatch,

    /// <summary>The certificate could not be checked at all (it or the trust anchors could not be read).</summary>
    NotChecked,
}
