using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.Tls;

/// <summary>
/// PKIX validation of a server certificate for a host name (RFC 5280 path, RFC 6125 name): what
/// delivery level <c>verify</c>, MTA-STS (RFC 8461 §4.2, for the MX host and for the policy host
/// "mta-sts.DOMAIN") ask. Trusts the system's CAs and, for private deployments and the tests, the
/// CA certificates of <c>delivery.trustAnchorsFile</c> (a PEM file) in addition. Revocation is not
/// checked (as Postfix and every MTA-STS implementation of note: no OCSP round trip per delivery).
/// </summary>
public sealed class PkixTrust
{
    private static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1");

    /// <summary>The system's CAs only.</summary>
    public static readonly PkixTrust SystemOnly = new([]);

    public PkixTrust(IReadOnlyList<X509Certificate2> extraAnchors) => ExtraAnchors = extraAnchors;

    /// <summary>CA certificates trusted besides the system's.</summary>
    public IReadOnlyList<X509Certificate2> ExtraAnchors { get; }

    /// <summary>
    /// The trust of an instance: the system's CAs, plus the certificates of <paramref name="pemFile"/>
    /// when set. A file that cannot be read or holds no certificate is an error with the reason
    /// (a configuration error at start, not a silent fallback to fewer anchors).
    /// </summary>
    public static PkixTrust Load(string? pemFile)
    {
        if (string.IsNullOrEmpty(pemFile)) return SystemOnly;
        var anchors = new X509Certificate2Collection();
        try
        {
            anchors.ImportFromPemFile(pemFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new InvalidOperationException($"delivery.trustAnchorsFile {pemFile}: {ex.Message}", ex);
        }
        if (anchors.Count == 0) throw new InvalidOperationException($"delivery.trustAnchorsFile {pemFile}: no certificate in the file");
        return new PkixTrust([.. anchors]);
    }

    /// <summary>
    /// Whether <paramref name="leaf"/> (with the intermediates the server sent) chains to a trusted CA
    /// at <paramref name="now"/>, is for server authentication, and names <paramref name="host"/>
    /// (subjectAltName DNS names, wildcards in the leftmost label; not the CN, RFC 6125 §6.4.4).
    /// <see cref="PkixVerdict.Failure"/> says which check failed first, <see cref="PkixVerdict.Detail"/>
    /// says it in words, for the log and the deferral reason.
    /// </summary>
    public PkixVerdict Validate(X509Certificate2 leaf, IEnumerable<X509Certificate2> presented, string host, DateTimeOffset now)
    {
        var problems = ChainProblems(leaf, presented, now, custom: false);
        if (problems is not null && ExtraAnchors.Count > 0) problems = ChainProblems(leaf, presented, now, custom: true) is null ? null : problems;
        if (problems is not null)
        {
            var failure = problems.Contains(X509ChainStatusFlags.NotTimeValid) ? PkixFailure.Expired : PkixFailure.NotTrusted;
            var text = problems.Count == 0 ? "the chain could not be built" : string.Join(", ", problems.Select(Describe));
            return new PkixVerdict(failure, $"certificate not trusted: {text}");
        }
        if (!leaf.MatchesHostname(host.TrimEnd('.'), allowWildcards: true, allowCommonName: false))
            return new PkixVerdict(PkixFailure.NameMismatch, $"certificate is not for {host} (names: {string.Join(", ", DnsNames(leaf))})");
        return new PkixVerdict(PkixFailure.None, $"certificate verified (PKIX) for {host}");
    }

    /// <summary>
    /// <see cref="Validate(X509Certificate2, IEnumerable{X509Certificate2}, string, DateTimeOffset)"/> as a
    /// <see cref="System.Net.Security.RemoteCertificateValidationCallback"/> sees the handshake: the
    /// certificate the server sent (none: <see cref="PkixFailure.NoCertificate"/>) and the intermediates
    /// it presented (the chain's extra store). SslStream's own verdict is not used: it knows no extra anchors.
    /// </summary>
    public PkixVerdict Validate(X509Certificate? certificate, X509Chain? chain, string host, DateTimeOffset now)
    {
        if (certificate is null) return new PkixVerdict(PkixFailure.NoCertificate, "the server sent no certificate");
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        var presented = chain?.ChainPolicy.ExtraStore.Cast<X509Certificate2>().ToList() ?? [];
        return Validate(leaf, presented, host, now);
    }

    /// <summary>
    /// The chain policy of the handshakes SecureMx makes as a client (SslStream builds a chain before it
    /// calls the validation callback) and of <see cref="Validate(X509Certificate2, IEnumerable{X509Certificate2}, string, DateTimeOffset)"/>'s
    /// own: no revocation check, no downloads of missing issuers. The verdict stays the callback's.
    /// </summary>
    public static X509ChainPolicy HandshakeChainPolicy() => new()
    {
        RevocationMode = X509RevocationMode.NoCheck,
        DisableCertificateDownloads = true,
    };

    /// <summary>Null when the chain builds; else its problems (empty: it could not be built, no reason given).</summary>
    private List<X509ChainStatusFlags>? ChainProblems(X509Certificate2 leaf, IEnumerable<X509Certificate2> presented, DateTimeOffset now, bool custom)
    {
        // No revocation check, and no fetching of the issuers a certificate names (AIA): the server sends its
        // intermediates (RFC 8446 §4.4.2), as OpenSSL-based MTAs require too; a download would be an HTTP request
        // to a URL the peer chose, made synchronously inside the TLS handshake on a socket thread
        // (Hosting/InlineSocketCompletions). The same policy as the handshake's own chain.
        using var chain = new X509Chain { ChainPolicy = HandshakeChainPolicy() };
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(ServerAuthentication);
        chain.ChainPolicy.ExtraStore.AddRange(presented.Where(c => !c.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span)).ToArray());
        if (custom)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(ExtraAnchors.ToArray());
        }
        if (chain.Build(leaf)) return null;
        return chain.ChainStatus.Select(s => s.Status).Where(s => s != X509ChainStatusFlags.NoError).Distinct().ToList();
    }

    private static string Describe(X509ChainStatusFlags flag) => flag switch
    {
        X509ChainStatusFlags.NotTimeValid => "expired or not yet valid",
        X509ChainStatusFlags.UntrustedRoot => "issued by an untrusted root",
        X509ChainStatusFlags.PartialChain => "no path to a trusted CA (intermediate missing?)",
        X509ChainStatusFlags.NotValidForUsage => "not valid for server authentication",
        X509ChainStatusFlags.NotSignatureValid => "bad signature",
        _ => flag.ToString(),
    };

    private static IEnumerable<string> DnsNames(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames()).DefaultIfEmpty("none");
}

/// <summary>The result of <see cref="PkixTrust.Validate(X509Certificate2, IEnumerable{X509Certificate2}, string, DateTimeOffset)"/>: valid when <see cref="Failure"/> is <see cref="PkixFailure.None"/>.</summary>
public readonly record struct PkixVerdict(PkixFailure Failure, string Detail)
{
    public bool Valid => Failure == PkixFailure.None;
}
