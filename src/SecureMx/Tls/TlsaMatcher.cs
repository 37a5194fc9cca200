using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace SecureMx.Tls;

/// <summary>The verdict of DANE authentication on one TLS connection.</summary>
public sealed record DaneVerdict(bool Verified, string Detail);

/// <summary>
/// DANE authentication of an SMTP server (RFC 7672 §3, RFC 7671, RFC 6698): the certificates the
/// server presented against the DNSSEC-secure TLSA RRset of its MX host.
/// DANE-EE(3): the leaf must match; no name check, no validity dates (RFC 7672 §3.1.1).
/// DANE-TA(2): a presented certificate must match and the leaf must chain to it, and the leaf must
/// carry the MX host name or the next-hop domain (RFC 7672 §3.2.2, wildcards in the left label).
/// Usages 0 and 1 are unusable for SMTP (RFC 7672 §3.1.3), as are unknown selectors and matching types.
/// </summary>
public static class TlsaMatcher
{
    public static bool IsUsable(TlsaRecordData r) => r.Usage is 2 or 3 && r.Selector is 0 or 1 && r.MatchingType is 0 or 1 or 2;

    /// <param name="leaf">The server's certificate.</param>
    /// <param name="presented">Every certificate the server sent (the leaf may be among them).</param>
    /// <param name="referenceNames">The MX host name and the next-hop domain (for DANE-TA).</param>
    public static DaneVerdict Verify(IReadOnlyList<TlsaRecordData> records, X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented,
        IReadOnlyList<string> referenceNames, DateTimeOffset now)
    {
        var usable = records.Where(IsUsable).ToList();
        if (usable.Count == 0) return new(false, "no usable TLSA records");

        foreach (var r in usable.Where(r => r.Usage == 3))
        {
            if (Matches(r, leaf)) return new(true, $"DANE-EE {r.Usage} {r.Selector} {r.MatchingType} matched the server certificate");
        }

        var taRecords = usable.Where(r => r.Usage == 2).ToList();
        string? nameProblem = null;
        foreach (var candidate in presented.Where(c => !c.RawDataMemory.Span.SequenceEqual(leaf.RawDataMemory.Span) || IsSelfSigned(c)))
        {
            var record = taRecords.FirstOrDefault(r => Matches(r, candidate));
            if (record is null) continue;
            if (!ChainsTo(leaf, candidate, presented, now)) continue;
            var name = referenceNames.FirstOrDefault(n => leaf.MatchesHostname(n, allowWildcards: true, allowCommonName: true));
            if (name is null)
            {
                nameProblem = $"DANE-TA {record.Selector} {record.MatchingType} matched {candidate.Subject}, but the server certificate is not for {string.Join(" or ", referenceNames)}";
                continue;
            }
            return new(true, $"DANE-TA 2 {record.Selector} {record.MatchingType} matched {candidate.Subject}; certificate valid for {name}");
        }
        return new(false, nameProblem ?? "no TLSA record matched the certificate chain");
    }

    /// <summary>Certificate association data per selector and matching type (RFC 6698 §2.1.2, §2.1.3).</summary>
    public static bool Matches(TlsaRecordData r, X509Certificate2 cert) =>
        MatchesSelected(r, r.Selector == 0 ? cert.RawData : cert.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>The record's association data against what its selector picked (the whole certificate or its SubjectPublicKeyInfo), per matching type (RFC 6698 §2.1.3).</summary>
    public static bool MatchesSelected(TlsaRecordData r, ReadOnlySpan<byte> selected)
    {
        byte[] digest = r.MatchingType switch
        {
            0 => selected.ToArray(),
            1 => SHA256.HashData(selected),
            2 => SHA512.HashData(selected),
            _ => [],
        };
        return digest.Length > 0 && CryptographicOperations.FixedTimeEquals(digest, r.Data.Span);
    }

    /// <summary>"3 1 1 hex" for a certificate: what a domain publishes for its MX host (RFC 7671 §5.1 recommends 3 1 1).</summary>
    public static string DaneEeRecord(X509Certificate2 cert) => DaneEeRecord(cert.PublicKey.ExportSubjectPublicKeyInfo());

    /// <summary>"3 1 1 hex" for a public key (SubjectPublicKeyInfo): the record of a key before it has a certificate.</summary>
    public static string DaneEeRecord(ReadOnlySpan<byte> spki) => "3 1 1 " + Convert.ToHexStringLower(SHA256.HashData(spki));

    private static bool IsSelfSigned(X509Certificate2 c) => c.SubjectName.RawData.AsSpan().SequenceEqual(c.IssuerName.RawData);

    /// <summary>The leaf's chain, built from the presented certificates, reaches the trust anchor (any depth, RFC 7671 §5.2).</summary>
    private static bool ChainsTo(X509Certificate2 leaf, X509Certificate2 anchor, IReadOnlyList<X509Certificate2> presented, DateTimeOffset now)
    {
        if (leaf.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span)) return true;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(anchor);
        chain.ChainPolicy.ExtraStore.AddRange(presented.ToArray());
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        // An anchor that is not self-signed ends the chain early: OpenSSL reports a partial chain, which is fine here as long as the anchor is in it.
        chain.ChainPolicy.VerificationFlags = IsSelfSigned(anchor) ? X509VerificationFlags.NoFlag : X509VerificationFlags.AllowUnknownCertificateAuthority;
        chain.Build(leaf);
        int at = -1;
        for (int i = 0; i < chain.ChainElements.Count; i++)
        {
            if (chain.ChainElements[i].Certificate.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span)) { at = i; break; }
        }
        if (at < 0) return false;
        const X509ChainStatusFlags Tolerated = X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain | X509ChainStatusFlags.NoError;
        for (int i = 0; i <= at; i++)
        {
            foreach (var status in chain.ChainElements[i].ChainElementStatus)
            {
                if ((status.Status & ~Tolerated) != 0) return false;
            }
        }
        return true;
    }
}
