using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Tls;

namespace SecureMx.Delivery.Remote;

/// <summary>How one MX host must be spoken to.</summary>
public enum HostTlsMode
{
    /// <summary>Level none: no STARTTLS.</summary>
    Plaintext,
    /// <summary>Levels may and dane without TLSA: STARTTLS when offered, plaintext on a new connection after a failed handshake.</summary>
    Opportunistic,
    /// <summary>TLS required, certificate not checked (level encrypt; or a secure TLSA RRset without usable records, RFC 7672 §2.2).</summary>
    Encrypt,
    /// <summary>TLS required and the certificate must match the TLSA RRset (RFC 7672 §3).</summary>
    Dane,
    /// <summary>TLS required with a certificate valid for the MX host name under the system's trusted CAs and delivery.trustAnchorsFile (level verify).</summary>
    Verify,
    /// <summary>
    /// The recipient domain's MTA-STS policy in mode enforce (RFC 8461 §4.2): strict TLS and a PKIX-valid
    /// certificate for the MX host name, as <see cref="Verify"/>; logged as verification mta-sts.
    /// </summary>
    MtaSts,
}

/// <summary>
/// The TLS requirement for one MX host: the effective level of the message and the DNSSEC-secure
/// TLSA RRset of the host together. Made by <see cref="For"/>, which also says when a host cannot
/// be used at all (a TLSA lookup failure, or dane-only without TLSA): those defer, never downgrade.
/// </summary>
public sealed record HostTlsRequirement(HostTlsMode Mode, bool StrictProfile, IReadOnlyList<TlsaRecordData> Tlsa)
{
    public bool TlsRequired => Mode >= HostTlsMode.Encrypt;

    /// <summary>For <see cref="HostTlsMode.MtaSts"/>: the policy, as reasons name it ("the MTA-STS policy of example.com (enforce, id X)").</summary>
    public string? MtaStsPolicy { get; init; }

    /// <summary>Connections are reused only for the same requirement (and, for DANE and verify, the same host name).</summary>
    public string CacheKey(string host) => Mode switch
    {
        HostTlsMode.Dane or HostTlsMode.Verify or HostTlsMode.MtaSts => $"{Mode}:{StrictProfile}:{host}",
        _ => $"{Mode}:{StrictProfile}",
    };

    /// <summary>
    /// What the host must do, or why it cannot be used (a 4.7.5 deferral reason). A DNSSEC-secure
    /// TLSA RRset forces DANE at every level (RFC 7672 §2.2) and a TLSA lookup failure defers, unless
    /// <paramref name="useDane"/> is false (the operator's destination entry lowered the level below
    /// dane: <see cref="Policy.EffectiveTlsPolicy.UsesDane"/>), in which case TLSA plays no part and
    /// the level alone decides — still strict TLS for a sender's mandatory setting.
    /// </summary>
    /// <param name="tlsa">The host's TLSA answer; null when DANE does not apply (the MX or address records are not DNSSEC-secure).</param>
    public static (HostTlsRequirement? Requirement, string? Unusable) For(OutboundTlsLevel level, TlsaResolution? tlsa, string host, bool useDane = true)
    {
        if (!useDane) tlsa = null;
        bool strict = level.RequiresTls();
        if (tlsa?.Kind == TlsaResolutionKind.TemporaryFailure) return (null, tlsa.Failure!.Text);
        if (tlsa?.Kind == TlsaResolutionKind.Secure)
        {
            var usable = tlsa.Records.Where(TlsaMatcher.IsUsable).ToList();
            if (usable.Count > 0) return (new HostTlsRequirement(HostTlsMode.Dane, strict, usable), null);
            // RFC 7672 §2.2: TLSA records, none usable: no authentication, but TLS is mandatory.
            if (level == OutboundTlsLevel.DaneOnly) return (null, $"no usable TLSA records for {host} (dane-only)");
            return (new HostTlsRequirement(level == OutboundTlsLevel.Verify ? HostTlsMode.Verify : HostTlsMode.Encrypt, strict, []), null);
        }
        return level switch
        {
            OutboundTlsLevel.None => (new HostTlsRequirement(HostTlsMode.Plaintext, false, []), null),
            OutboundTlsLevel.May or OutboundTlsLevel.Dane => (new HostTlsRequirement(HostTlsMode.Opportunistic, false, []), null),
            OutboundTlsLevel.Encrypt => (new HostTlsRequirement(HostTlsMode.Encrypt, true, []), null),
            OutboundTlsLevel.Verify => (new HostTlsRequirement(HostTlsMode.Verify, true, []), null),
            _ => (null, tlsa is null
                ? $"{host} has no DNSSEC-secure MX/address records, so DANE cannot apply (dane-only)"
                : $"no DNSSEC-secure TLSA records for {host} (dane-only)"),
        };
    }

    /// <summary>
    /// What an MTA-STS policy in mode enforce makes of the host (RFC 8461 §4.2): TLS with the strict
    /// profile and a PKIX-valid certificate for the MX name. Not for a host that DANE verifies (RFC 8461
    /// §2: DANE takes precedence there).
    /// </summary>
    public static HostTlsRequirement MtaStsEnforce { get; } = new(HostTlsMode.MtaSts, true, []);

    /// <summary>
    /// The client side of the handshake. SNI is the MX host name (RFC 7672 §8.1). The strict profile
    /// (TLS 1.2/1.3, ECDHE with AEAD ciphers) for mandatory TLS; for opportunistic TLS the opportunistic
    /// profile (TLS 1.0 and up, every suite that encrypts, OpenSSL security level 0: RFC 7435 §3, any
    /// encryption beats the plaintext that would follow a refused handshake — as Postfix's
    /// smtp_tls_security_level = may does); OpenSSL's defaults for DANE and verify below mandatory TLS.
    /// One lax handshake, not a strict one and a lax retry: a server that can do better still gets
    /// TLS 1.3 or 1.2 with AEAD (the server chooses; TLS 1.3's downgrade sentinel, RFC 8446 §4.1.3,
    /// stops a man in the middle from pushing it lower), and a man in the middle who could force the
    /// retry can as well strip STARTTLS, which opportunistic TLS accepts anyway.
    /// <paramref name="verdict"/> receives the DANE or PKIX result for the log and the deferral reason.
    /// PKIX (verify, MTA-STS) is <paramref name="trust"/>'s (the system's CAs and delivery.trustAnchorsFile),
    /// not SslStream's own verdict, which knows no extra anchors. <paramref name="audit"/>, when given,
    /// receives the PKIX verdict of the certificate whatever the mode (MTA-STS testing: what enforce would
    /// have said, RFC 8461 §5) without changing what the handshake accepts.
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(string host, string nextHopDomain, TimeProvider time, Action<string> verdict,
        PkixTrust? trust = null, Action<PkixVerdict>? audit = null)
    {
        trust ??= PkixTrust.SystemOnly;
        PkixVerdict Pkix(X509Certificate? certificate, X509Chain? chain) => trust.Validate(certificate, chain, host, time.GetUtcNow());
        bool Decide(PkixVerdict result)
        {
            verdict(result.Detail);
            return result.Valid;
        }
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            CertificateChainPolicy = PkixTrust.HandshakeChainPolicy(),
            EnabledSslProtocols = SslProtocols.None,
            RemoteCertificateValidationCallback = Mode switch
            {
                HostTlsMode.Dane => (_, certificate, chain, _) =>
                {
                    if (certificate is null) { verdict("the server sent no certificate"); return false; }
                    var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
                    var presented = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList() ?? [];
                    var result = TlsaMatcher.Verify(Tlsa, leaf, presented, [host, nextHopDomain], time.GetUtcNow());
                    verdict(result.Detail);
                    return result.Verified;
                },
                HostTlsMode.Verify or HostTlsMode.MtaSts => (_, certificate, chain, _) => Decide(Pkix(certificate, chain)),
                _ => (_, _, _, _) => true,
            },
        };
        if (audit is not null)
        {
            var decide = options.RemoteCertificateValidationCallback;
            options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
            {
                audit(Pkix(certificate, chain));
                return decide(sender, certificate, chain, errors);
            };
        }
        Profile?.ApplyTo(options);
        return options;
    }

    /// <summary>The TLS profile of the handshake; null for OpenSSL's defaults.</summary>
    public TlsProfile? Profile => StrictProfile ? TlsProfile.Strict : Mode == HostTlsMode.Opportunistic ? TlsProfile.Opportunistic : null;

    public TlsVerification Verification => Mode switch
    {
        HostTlsMode.Dane => TlsVerification.Dane,
        HostTlsMode.Verify => TlsVerification.Verified,
        HostTlsMode.MtaSts => TlsVerification.MtaSts,
        _ => TlsVerification.Encrypted,
    };
}
