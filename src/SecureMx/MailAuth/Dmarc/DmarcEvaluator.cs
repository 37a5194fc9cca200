using SecureMx.Dns;
using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Spf;

namespace SecureMx.MailAuth.Dmarc;

/// <summary>
/// DMARC (RFC 7489): policy discovery at _dmarc.FROM-DOMAIN, else at _dmarc.ORGANIZATIONAL-DOMAIN
/// (§6.6.3), and identifier alignment (§3.1) of a passing DKIM signature's d= or of the SPF-passed MAIL
/// FROM (or HELO) domain with the From: domain, relaxed (same organizational domain) or strict (the same
/// name) per adkim=/aspf=. A message without exactly one From: field holding addresses of one domain is
/// a permerror (§6.6.1: RFC 5322 asks for exactly one author field; we do not guess which author counts).
/// </summary>
public sealed class DmarcEvaluator(IDnsRecordLookup dns, PublicSuffixList suffixes)
{
    /// <summary>
    /// The verdict for a message whose From: fields gave <paramref name="fromDomains"/> (one entry per
    /// From: field: the distinct domains of its addresses; empty when the field has none or does not parse).
    /// </summary>
    public async Task<DmarcVerdict> EvaluateAsync(IReadOnlyList<IReadOnlyList<string>> fromDomains, SpfResult spf, string? spfDomain,
        IReadOnlyList<DkimSignatureResult> dkim, CancellationToken cancellationToken = default)
    {
        if (fromDomains.Count == 0) return new DmarcVerdict(DmarcResult.PermError, null, Problem: "the message has no From: field");
        if (fromDomains.Count > 1) return new DmarcVerdict(DmarcResult.PermError, null, Problem: $"the message has {fromDomains.Count} From: fields");
        var domains = fromDomains[0];
        if (domains.Count == 0) return new DmarcVerdict(DmarcResult.PermError, null, Problem: "the From: field has no address with a domain");
        if (domains.Count > 1) return new DmarcVerdict(DmarcResult.PermError, null, Problem: "the From: field has addresses in several domains: " + string.Join(", ", domains));
        var from = domains[0].TrimEnd('.').ToLowerInvariant();

        try
        {
            var org = suffixes.OrganizationalDomain(from);
            var (record, atOrg, problem) = await DiscoverAsync(from, org, cancellationToken).ConfigureAwait(false);
            if (problem is not null) return new DmarcVerdict(DmarcResult.TempError, from, Problem: problem);
            if (record is null) return new DmarcVerdict(DmarcResult.None, from);

            bool dkimAligned = dkim.Any(d => d.Result == DkimResult.Pass && d.Domain is { } dd && Aligned(dd, from, org, record.StrictDkim));
            bool spfAligned = spf == SpfResult.Pass && spfDomain is { } sd && Aligned(sd, from, org, record.StrictSpf);
            // §6.6.3: sp= applies when the record was found at the organizational domain for a subdomain of it.
            var policy = atOrg && from != org ? record.SubdomainPolicy : record.Policy;
            if (dkimAligned || spfAligned) return new DmarcVerdict(DmarcResult.Pass, from, policy, DmarcPolicy.None);
            // §6.6.4: pct below 100 samples; we do not sample, but apply one step less than asked for every message.
            var disposition = record.Percent >= 100 || policy == DmarcPolicy.None ? policy : policy - 1;
            return new DmarcVerdict(DmarcResult.Fail, from, policy, disposition,
                $"neither SPF ({spf.Name()} for {spfDomain ?? "-"}) nor DKIM ({string.Join(", ", dkim.Select(d => $"{d.Name} d={d.Domain}"))}) is aligned with {from}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return new DmarcVerdict(DmarcResult.TempError, from, Problem: "the time for DNS lookups ran out");
        }
    }

    private bool Aligned(string identifier, string from, string fromOrg, bool strict)
    {
        identifier = identifier.TrimEnd('.').ToLowerInvariant();
        return strict ? identifier == from : suffixes.OrganizationalDomain(identifier) == fromOrg;
    }

    /// <summary>The record at _dmarc.FROM, else at _dmarc.ORG (§6.6.3); several records at a name count as none.</summary>
    private async Task<(DmarcRecord? Record, bool AtOrganizationalDomain, string? TempProblem)> DiscoverAsync(string from, string org, CancellationToken ct)
    {
        foreach (var (name, atOrg) in from == org ? [(from, false)] : new[] { (from, false), (org, true) })
        {
            var txt = await dns.TxtAsync("_dmarc." + name, ct).ConfigureAwait(false);
            if (txt.Status == DnsLookupStatus.Failure) return (null, false, $"DMARC lookup of _dmarc.{name} failed: {txt.Reason}");
            var records = txt.Records.Where(DmarcRecord.IsDmarcRecord).ToList();
            if (records.Count > 1) return (null, false, null); // §6.6.3: several records end discovery: no policy
            if (records.Count == 1 && DmarcRecord.Parse(records[0], out _) is { } record) return (record, atOrg, null);
        }
        return (null, false, null);
    }
}
