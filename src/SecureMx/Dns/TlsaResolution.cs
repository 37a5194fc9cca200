using SecureMx.Mail;
using SecureMx.Tls;
namespace SecureMx.Dns;

/// <summary>What a TLSA lookup means for DANE (RFC 7672 §2.2, RFC 6698 §4).</summary>
public enum TlsaResolutionKind
{
    /// <summary>NOERROR, AD=1, with TLSA records: DANE applies; the peer must authenticate with them (RFC 7672 §2.2).</summary>
    Secure,

    /// <summary>NXDOMAIN or NODATA with AD=1: securely no TLSA, so no DANE for this host (RFC 7672 §2.2.2).</summary>
    SecureNone,

    /// <summary>AD=0: the answer is not DNSSEC-validated and must not be used for DANE (RFC 7672 §2.2.2, RFC 6698 §4.1).</summary>
    Insecure,

    /// <summary>SERVFAIL, timeout or another resolver error: the caller must defer, never downgrade (RFC 7672 §2.2.1, §2.2.2).</summary>
    TemporaryFailure,
}

/// <summary>The TLSA RRset of "_PORT._tcp.HOST" (RFC 6698 §3) as seen through the trusted validating resolver.</summary>
public sealed class TlsaResolution
{
    private TlsaResolution(string name, TlsaResolutionKind kind, IReadOnlyList<TlsaRecordData> records, string? reason)
    {
        Name = name;
        Kind = kind;
        Records = records;
        Reason = reason;
    }

    /// <summary>The name that was looked up, e.g. "_25._tcp.mx.example.org".</summary>
    public string Name { get; }

    public TlsaResolutionKind Kind { get; }

    /// <summary>
    /// The records of a <see cref="TlsaResolutionKind.Secure"/> answer (duplicates removed). Empty for
    /// every other kind — insecure records are never handed out, so they cannot be used by mistake.
    /// </summary>
    public IReadOnlyList<TlsaRecordData> Records { get; }

    /// <summary>For <see cref="TlsaResolutionKind.TemporaryFailure"/>: why, e.g. "SERVFAIL".</summary>
    public string? Reason { get; }

    /// <summary>
    /// For a temporary failure, the deferral status Postfix also uses: 4.7.5 (RFC 3463 X.7.5
    /// "Cryptographic failure") "TLSA lookup error for NAME: REASON"; null otherwise.
    /// </summary>
    public DnsFailure? Failure => Kind == TlsaResolutionKind.TemporaryFailure
        ? new DnsFailure(451, EnhancedStatus.CryptographicFailure, $"TLSA lookup error for {Name}: {Reason}")
        : null;

    /// <summary>"_PORT._tcp.HOST" (RFC 6698 §3), without the trailing dot.</summary>
    public static string OwnerName(string host, int port) => $"_{port}._tcp.{host.TrimEnd('.')}";

    /// <summary>Classifies a TLSA answer (the DANE rule of RFC 7672 §2.2).</summary>
    internal static TlsaResolution FromAnswer(string name, DnsAnswer<TlsaRecordData> answer) => answer.Status switch
    {
        DnsAnswerStatus.Failure => new TlsaResolution(name, TlsaResolutionKind.TemporaryFailure, [], answer.Reason),
        _ when answer.Security != DnsSecurity.Secure => new TlsaResolution(name, TlsaResolutionKind.Insecure, [], null),
        DnsAnswerStatus.Records => new TlsaResolution(name, TlsaResolutionKind.Secure, answer.Records.Distinct().ToList(), null),
        _ => new TlsaResolution(name, TlsaResolutionKind.SecureNone, [], null),
    };

    public override string ToString() => Kind switch
    {
        TlsaResolutionKind.Secure => $"{Name}: TLSA {string.Join(", ", Records)} (Secure)",
        TlsaResolutionKind.TemporaryFailure => $"{Name}: {Failure}",
        _ => $"{Name}: {Kind}",
    };
}
