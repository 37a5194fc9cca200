using System.Security.Cryptography.X509Certificates;
using SecureMx.Dkim;
using SecureMx.Dns;
using SecureMx.MtaSts;
using SecureMx.Reporting;
using SecureMx.Tls;

namespace SecureMx.Dashboard;

/// <summary>How one item of the DNS check looks for the customer.</summary>
public enum CheckLevel { Ok, Warn, Bad }

/// <summary>What the MX records of a hosted domain say about the secure MX.</summary>
public enum MxVerdict
{
    /// <summary>Every MX host is the secure MX.</summary>
    OnlySecureMx,

    /// <summary>The secure MX is listed next to other hosts: senders may use those instead.</summary>
    SecureMxAndOthers,

    /// <summary>MX hosts are published, none of them is the secure MX.</summary>
    NotSecureMx,

    /// <summary>No MX RRset: senders fall back to the domain's address records (RFC 5321 §5.1).</summary>
    NoMx,

    /// <summary>"MX 0 ." — the domain refuses all mail (RFC 7505).</summary>
    NullMx,

    NoSuchDomain,
    LookupFailed,
    TimedOut,
}

/// <summary>What the TLSA RRset of "_25._tcp.SECUREMX" says about DANE for the secure MX.</summary>
public enum TlsaVerdict
{
    /// <summary>DNSSEC-secure records that authenticate the instance certificate (RFC 7672 §3).</summary>
    Matches,

    /// <summary>Securely absent: DANE senders cannot authenticate the secure MX.</summary>
    Missing,

    /// <summary>The answer is not DNSSEC-validated, so senders must ignore any records (RFC 7672 §2.2.2).</summary>
    NotSigned,

    /// <summary>Secure records that match neither the certificate nor the next key: DANE senders will not deliver.</summary>
    Mismatch,

    /// <summary>
    /// Secure records that match only the next key (RFC 7671 §8.1), not the certificate served now:
    /// DANE senders will not deliver until the switch.
    /// </summary>
    MatchesNextKeyOnly,

    /// <summary>Secure records, but the instance has no certificate loaded to compare them with.</summary>
    NoCertificate,

    /// <summary>SERVFAIL and the like: DANE senders defer their mail (RFC 7672 §2.2.1).</summary>
    LookupFailed,

    TimedOut,
}

/// <summary>What the "_mta-sts" TXT record of a hosted domain says about the policy SecureMx serves (RFC 8461 §3.1).</summary>
public enum MtaStsTxtVerdict
{
    /// <summary>One STSv1 record with the id of the policy served now.</summary>
    Matches,

    /// <summary>A record with another id: senders keep the policy they fetched before and do not fetch the new one.</summary>
    OtherId,

    /// <summary>No STSv1 record: senders do not know there is a policy.</summary>
    Missing,

    /// <summary>More than one STSv1 record, or one that does not parse: senders treat that as no policy.</summary>
    Invalid,

    LookupFailed,
    TimedOut,
}

/// <summary>What the "_smtp._tls" TXT record of a hosted domain says about TLS reports (RFC 8460 §3).</summary>
public enum TlsRptTxtVerdict
{
    /// <summary>One TLSRPTv1 record whose rua names the report address: reports arrive here.</summary>
    Matches,

    /// <summary>One TLSRPTv1 record that sends the reports elsewhere.</summary>
    Other,

    /// <summary>No TLSRPTv1 record.</summary>
    Missing,

    /// <summary>More than one TLSRPTv1 record, or one without rua=: senders send no reports (§3).</summary>
    Invalid,

    LookupFailed,
    TimedOut,
}

/// <summary>What the TXT record "SELECTOR._domainkey.DOMAIN" says about one of the domain's DKIM keys (RFC 6376 §3.6.2.1).</summary>
public enum DkimRecordVerdict
{
    /// <summary>A record with this key: receivers can check its signatures.</summary>
    Published,

    /// <summary>No TXT record at the name.</summary>
    Missing,

    /// <summary>A TXT record with another key (or a revoked one, p= empty).</summary>
    OtherKey,

    LookupFailed,
    TimedOut,
}

/// <summary>One DKIM key of the domain and what DNS says of its record.</summary>
public sealed record DkimRecordCheck(DkimKey Key, DkimRecordVerdict Verdict, string? Detail)
{
    /// <summary>
    /// An active key that receivers cannot check is bad (its signatures fail); a pending or retiring key
    /// without its record is a warning (the pending one does not sign yet; the retiring one's old mail no longer verifies).
    /// </summary>
    public CheckLevel Level => Verdict == DkimRecordVerdict.Published ? CheckLevel.Ok
        : Key.State == DkimKeyState.Active ? CheckLevel.Bad : CheckLevel.Warn;
}

/// <summary>The result of one live DNS check of a hosted domain.</summary>
/// <param name="NextKeyPublished">
/// With a next key (tls/next-key.pem) and a secure TLSA answer: whether a record for it is published
/// yet; null without a next key or without a secure answer to judge.
/// </param>
public sealed record DomainDnsCheckResult(
    string Domain,
    string SecureMxHost,
    MxVerdict Mx,
    IReadOnlyList<MxHost> MxHosts,
    DnsSecurity? MxSecurity,
    string? MxReason,
    TlsaVerdict Tlsa,
    IReadOnlyList<string> TlsaRecords,
    string? TlsaReason,
    bool? NextKeyPublished = null,
    MtaStsTxtVerdict? MtaSts = null,
    string? MtaStsDetail = null,
    TlsRptTxtVerdict? TlsRpt = null,
    string? TlsRptDetail = null,
    IReadOnlyList<DkimRecordCheck>? Dkim = null)
{
    /// <summary>The "_smtp._tls" record's level; null when it was not checked. Reports sent elsewhere are the customer's choice: a warning.</summary>
    public CheckLevel? TlsRptLevel => TlsRpt switch
    {
        null => null,
        TlsRptTxtVerdict.Matches => CheckLevel.Ok,
        TlsRptTxtVerdict.Missing or TlsRptTxtVerdict.Other => CheckLevel.Warn,
        _ => CheckLevel.Bad,
    };

    /// <summary>The "_mta-sts" record's level; null when the domain's mode is none (nothing to check).</summary>
    public CheckLevel? MtaStsLevel => MtaSts switch
    {
        null => null,
        MtaStsTxtVerdict.Matches => CheckLevel.Ok,
        MtaStsTxtVerdict.Missing => CheckLevel.Warn,
        _ => CheckLevel.Bad,
    };

    public CheckLevel MxLevel => Mx switch
    {
        MxVerdict.OnlySecureMx => CheckLevel.Ok,
        MxVerdict.SecureMxAndOthers => CheckLevel.Warn,
        _ => CheckLevel.Bad,
    };

    /// <summary>Whether the MX answer was DNSSEC-validated; null when there was no answer to judge.</summary>
    public CheckLevel? MxSignedLevel => MxSecurity switch
    {
        null => null,
        DnsSecurity.Secure => CheckLevel.Ok,
        _ => CheckLevel.Warn, // senders ignore TLSA unless the MX RRset is secure (RFC 7672 §2.2.1)
    };

    public CheckLevel TlsaLevel => Tlsa switch
    {
        TlsaVerdict.Matches => CheckLevel.Ok,
        TlsaVerdict.Missing or TlsaVerdict.NotSigned or TlsaVerdict.NoCertificate => CheckLevel.Warn,
        _ => CheckLevel.Bad,
    };
}

/// <summary>
/// "Check DNS now" on the domain page: does the domain's MX point to the secure MX, is that answer
/// DNSSEC-signed, and does the secure MX host publish a secure TLSA RRset that authenticates this
/// instance's certificate — and, during a key rollover (RFC 7671 §8.1), a record for the next key too? Asked through the same resolver as delivery, with the same DANE rules
/// (TlsaResolution, TlsaMatcher). Bounded in time: a dead resolver must not hang the page.
/// </summary>
public sealed class DomainDnsCheck(IMailDnsResolver dns, TimeProvider time, TimeSpan? timeout = null)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(8);

    /// <summary>Senders connect to port 25 of an MX host, so that is where DANE looks (RFC 7672 §2.2.3).</summary>
    public const int SmtpPort = 25;

    private readonly TimeSpan _timeout = timeout ?? DefaultTimeout;

    /// <param name="domain">The hosted domain (A-labels).</param>
    /// <param name="secureMxHost">The secure MX host name (options.EffectiveSecureMxHostname()).</param>
    /// <param name="certificate">The instance certificate, null when none is loaded.</param>
    /// <param name="chain">Further certificates the server sends with it (for DANE-TA records).</param>
    /// <param name="nextKeySpki">The SubjectPublicKeyInfo of the next key of a rollover, null when there is none.</param>
    /// <param name="mtaStsId">The id of the MTA-STS policy served for the domain; null when none is served (its "_mta-sts" record is not checked).</param>
    /// <param name="tlsRptRua">The rua URIs offered for the domain (<see cref="HostedTlsRptRecord.Rua"/>); null: the "_smtp._tls" record is not checked.</param>
    /// <param name="dkimKeys">The domain's DKIM keys; each one not retired has its record checked (null: none).</param>
    public async Task<DomainDnsCheckResult> CheckAsync(string domain, string secureMxHost, X509Certificate2? certificate,
        IReadOnlyList<X509Certificate2> chain, byte[]? nextKeySpki, CancellationToken cancellationToken, string? mtaStsId = null, IReadOnlyList<string>? tlsRptRua = null,
        IReadOnlyList<DkimKey>? dkimKeys = null)
    {
        var host = secureMxHost.TrimEnd('.').ToLowerInvariant();
        using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bound.CancelAfter(_timeout);
        var mxTask = Bounded(ct => dns.ResolveMxAsync(domain, ct), bound.Token, cancellationToken);
        var tlsaTask = Bounded(ct => dns.ResolveTlsaAsync(host, SmtpPort, ct), bound.Token, cancellationToken);
        var txtTask = mtaStsId is null ? null : Bounded(ct => dns.ResolveTxtAsync(MtaStsTxtRecord.OwnerName(domain), ct), bound.Token, cancellationToken);
        var mx = await mxTask.ConfigureAwait(false);
        var tlsa = await tlsaTask.ConfigureAwait(false);
        var rptTask = tlsRptRua is null ? null : Bounded(ct => dns.ResolveTxtAsync("_smtp._tls." + domain, ct), bound.Token, cancellationToken);
        var dkimTasks = (dkimKeys ?? []).Where(k => k.State != DkimKeyState.Retired)
            .Select(k => (Key: k, Answer: Bounded(ct => dns.ResolveTxtAsync(k.RecordName, ct), bound.Token, cancellationToken))).ToList();
        var (mtaSts, mtaStsDetail) = txtTask is null ? (null, null) : JudgeMtaSts(await txtTask.ConfigureAwait(false), mtaStsId!);
        var (tlsRpt, tlsRptDetail) = rptTask is null ? (null, null) : JudgeTlsRpt(await rptTask.ConfigureAwait(false), tlsRptRua!);

        var (mxVerdict, hosts, mxSecurity, mxReason) = JudgeMx(mx, host);
        var (tlsaVerdict, records, tlsaReason) = JudgeTlsa(tlsa, host, certificate, chain, nextKeySpki);
        bool? nextPublished = nextKeySpki is not null && tlsa?.Kind == TlsaResolutionKind.Secure
            ? tlsa.Records.Any(r => NextTlsKey.Matches(r, nextKeySpki))
            : null;
        var dkim = new List<DkimRecordCheck>();
        foreach (var (key, answer) in dkimTasks) dkim.Add(JudgeDkim(key, await answer.ConfigureAwait(false)));
        return new DomainDnsCheckResult(domain, host, mxVerdict, hosts, mxSecurity, mxReason, tlsaVerdict, records, tlsaReason, nextPublished, mtaSts, mtaStsDetail,
            tlsRpt, tlsRptDetail, dkimKeys is null ? null : dkim);
    }

    /// <summary>The key's record as a verifier reads it (<see cref="DkimKeyRecord.Publishes"/>, the check the rotation uses).</summary>
    private static DkimRecordCheck JudgeDkim(DkimKey key, TxtResolution? txt)
    {
        if (txt is null) return new DkimRecordCheck(key, DkimRecordVerdict.TimedOut, null);
        return txt.Kind switch
        {
            TxtResolutionKind.TemporaryFailure => new DkimRecordCheck(key, DkimRecordVerdict.LookupFailed, txt.FailureReason),
            TxtResolutionKind.None => new DkimRecordCheck(key, DkimRecordVerdict.Missing, null),
            _ => DkimKeyRecord.Check(txt, key) is null ? new DkimRecordCheck(key, DkimRecordVerdict.Published, null) : new DkimRecordCheck(key, DkimRecordVerdict.OtherKey, null),
        };
    }

    /// <summary>
    /// The TXT answer as a sender reads it (RFC 8460 §3: <see cref="TlsRptRecord.Select"/>, the parser the report sender uses):
    /// no usable record means no reporting; it matches when its mailto: addresses or https: URLs name any of the URIs we offer.
    /// </summary>
    private static (TlsRptTxtVerdict?, string?) JudgeTlsRpt(TxtResolution? txt, IReadOnlyList<string> offered)
    {
        if (txt is null) return (TlsRptTxtVerdict.TimedOut, null);
        if (txt.Kind == TxtResolutionKind.TemporaryFailure) return (TlsRptTxtVerdict.LookupFailed, txt.FailureReason);
        var (record, error) = TlsRptRecord.Select(txt.Records);
        if (error is not null) return (TlsRptTxtVerdict.Invalid, error);
        if (record is null) return (TlsRptTxtVerdict.Missing, null);
        var mailTo = offered.Where(u => u.StartsWith("mailto:", StringComparison.Ordinal)).Select(u => u["mailto:".Length..]).ToList();
        var https = offered.Select(u => Uri.TryCreate(u, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps ? url : null).OfType<Uri>().ToList();
        bool ours = record.MailTo.Any(a => mailTo.Contains(a, StringComparer.OrdinalIgnoreCase)) || record.Https.Any(https.Contains);
        return ours ? (TlsRptTxtVerdict.Matches, null)
            : (TlsRptTxtVerdict.Other, string.Join(", ", record.MailTo.Select(a => "mailto:" + a).Concat(record.Https.Select(u => u.ToString()))));
    }

    /// <summary>The TXT answer as a sender reads it (RFC 8461 §3.1: <see cref="MtaStsTxtRecord.Select"/>), against the id served now.</summary>
    private static (MtaStsTxtVerdict?, string?) JudgeMtaSts(TxtResolution? txt, string expectedId)
    {
        if (txt is null) return (MtaStsTxtVerdict.TimedOut, null);
        if (txt.Kind == TxtResolutionKind.TemporaryFailure) return (MtaStsTxtVerdict.LookupFailed, txt.FailureReason);
        var (record, error) = MtaStsTxtRecord.Select(txt.Records);
        if (error is not null) return (MtaStsTxtVerdict.Invalid, error);
        if (record is null) return (MtaStsTxtVerdict.Missing, null);
        return record.Id == expectedId ? (MtaStsTxtVerdict.Matches, record.Id) : (MtaStsTxtVerdict.OtherId, record.Id);
    }

    /// <summary>The answer, or null when the time bound ran out first (also for a resolver that ignores the token).</summary>
    private async Task<T?> Bounded<T>(Func<CancellationToken, Task<T>> query, CancellationToken bound, CancellationToken caller) where T : class
    {
        try
        {
            return await query(bound).WaitAsync(bound).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!caller.IsCancellationRequested)
        {
            return null;
        }
    }

    private static (MxVerdict, IReadOnlyList<MxHost>, DnsSecurity?, string?) JudgeMx(MxResolution? mx, string host)
    {
        if (mx is null) return (MxVerdict.TimedOut, [], null, null);
        return mx.Kind switch
        {
            MxResolutionKind.Hosts when mx.Hosts.All(h => h.Name == host) => (MxVerdict.OnlySecureMx, mx.Hosts, mx.Security, null),
            MxResolutionKind.Hosts when mx.Hosts.Any(h => h.Name == host) => (MxVerdict.SecureMxAndOthers, Sorted(mx.Hosts), mx.Security, null),
            MxResolutionKind.Hosts => (MxVerdict.NotSecureMx, Sorted(mx.Hosts), mx.Security, null),
            MxResolutionKind.Implicit => (MxVerdict.NoMx, [], mx.Security, null),
            MxResolutionKind.NullMx => (MxVerdict.NullMx, [], mx.Security, null),
            MxResolutionKind.NoSuchDomain => (MxVerdict.NoSuchDomain, [], mx.Security, null),
            _ => (MxVerdict.LookupFailed, [], null, mx.Reason),
        };
    }

    // The resolver shuffles equal preferences for delivery; the page lists them in a stable order.
    private static List<MxHost> Sorted(IEnumerable<MxHost> hosts) => hosts.OrderBy(h => h.Preference).ThenBy(h => h.Name, StringComparer.Ordinal).ToList();

    private (TlsaVerdict, IReadOnlyList<string>, string?) JudgeTlsa(TlsaResolution? tlsa, string host, X509Certificate2? certificate,
        IReadOnlyList<X509Certificate2> chain, byte[]? nextKeySpki)
    {
        if (tlsa is null) return (TlsaVerdict.TimedOut, [], null);
        var records = tlsa.Records.Select(r => r.ToString()).ToList();
        switch (tlsa.Kind)
        {
            case TlsaResolutionKind.SecureNone: return (TlsaVerdict.Missing, records, null);
            case TlsaResolutionKind.Insecure: return (TlsaVerdict.NotSigned, records, null);
            case TlsaResolutionKind.TemporaryFailure: return (TlsaVerdict.LookupFailed, records, tlsa.Reason);
        }
        if (certificate is null) return (TlsaVerdict.NoCertificate, records, null);
        // The same verdict a DANE sender reaches when this instance presents its certificate and chain.
        var presented = chain.Prepend(certificate).ToList();
        var verdict = TlsaMatcher.Verify(tlsa.Records, certificate, presented, [host], time.GetUtcNow());
        if (verdict.Verified) return (TlsaVerdict.Matches, records, verdict.Detail);
        // Published for the next key only: the switch came too early in DNS, or the record of the current key went too soon.
        if (nextKeySpki is not null && tlsa.Records.Any(r => NextTlsKey.Matches(r, nextKeySpki)))
            return (TlsaVerdict.MatchesNextKeyOnly, records, verdict.Detail);
        return (TlsaVerdict.Mismatch, records, verdict.Detail);
    }
}
