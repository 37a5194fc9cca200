using System.Net.Security;
using System.Security.Authentication;

namespace SecureMx.Mail;

/// <summary>
/// How a peer's identity was checked on a TLS connection (the delivery log's "verification"):
/// <c>none</c> plaintext · <c>encrypted</c> not checked · <c>dane</c> by TLSA records (RFC 7672) ·
/// <c>verified</c> PKIX for the MX name (level verify; LMTP) · <c>mta-sts</c> PKIX for an MX name that
/// the recipient domain's MTA-STS policy lists (RFC 8461 §4). <see cref="TlsVerifications.Name"/> is the stored form.
/// </summary>
public enum TlsVerification { None, Encrypted, Dane, Verified, MtaSts }

public static class TlsVerifications
{
    public static string Name(this TlsVerification verification) => verification switch
    {
        TlsVerification.None => "none",
        TlsVerification.Encrypted => "encrypted",
        TlsVerification.Dane => "dane",
        TlsVerification.Verified => "verified",
        TlsVerification.MtaSts => "mta-sts",
        _ => throw new ArgumentOutOfRangeException(nameof(verification)),
    };

    /// <summary>The peer's identity was authenticated (DANE or PKIX), not only encrypted: what REQUIRETLS asks of every hop (RFC 8689 §4.2.2).</summary>
    public static bool Authenticated(this TlsVerification verification) => verification is TlsVerification.Dane or TlsVerification.Verified or TlsVerification.MtaSts;
}

/// <summary>
/// What TLS one connection got. Travels from the socket to the spool envelope, the Received
/// header, the session and delivery logs and (later) the dashboard.
/// </summary>
public sealed record NegotiatedTls(string Protocol, string CipherSuite, TlsVerification Verification = TlsVerification.Encrypted)
{
    public static NegotiatedTls From(SslStream stream, TlsVerification verification = TlsVerification.Encrypted) =>
        new(ProtocolName(stream.SslProtocol), stream.NegotiatedCipherSuite.ToString(), verification);

    /// <summary>OpenSSL-style protocol names ("TLSv1.3"), as Postfix writes them in Received headers.</summary>
    public static string ProtocolName(SslProtocols protocol) => protocol switch
    {
#pragma warning disable SYSLIB0039, CS0618, CA5397 // old protocols are named, never enabled
        SslProtocols.Tls => "TLSv1",
        SslProtocols.Tls11 => "TLSv1.1",
#pragma warning restore SYSLIB0039, CS0618, CA5397
        SslProtocols.Tls12 => "TLSv1.2",
        SslProtocols.Tls13 => "TLSv1.3",
        _ => protocol.ToString(),
    };

    /// <summary>TLS 1.2/1.3 with an AEAD cipher and forward secrecy: the product's "secure TLS".</summary>
    public bool IsStrict => TlsGrading.IsStrictSuite(Protocol, CipherSuite);
}
