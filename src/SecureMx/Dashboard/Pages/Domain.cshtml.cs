using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Policy;
using SecureMx.Reporting;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Dashboard.Pages;

/// <summary>
/// A hosted domain: inbound and outbound mandatory TLS (domain and each account), the DNS records
/// to publish and a live check of them, and the audit trail of policy changes. For the domain's
/// administrators and system administrators only.
/// </summary>
public sealed class DomainModel(DashboardUser user, MailboxRepository mailboxes, TlsPolicyRepository policies, DashboardDependencies deps, OutboundWaitTimes wait,
    RefusedAttemptRepository refused) : PageModel
{
    /// <summary>An account of the domain: its own switch, and what is in effect for its mail.</summary>
    public sealed record AccountRow(string Address, bool Mandatory, MandatoryTlsSource InEffect);

    public string Domain { get; private set; } = "";

    public bool InboundMandatory { get; private set; }

    public bool OutboundMandatory { get; private set; }

    public List<AccountRow> Accounts { get; } = new();

    /// <summary>The MTA-STS policy served for the domain (its mode is the domain's setting).</summary>
    public HostedMtaStsPolicy MtaStsPolicy { get; private set; } = null!;

    public MtaStsMode MtaStsMode => MtaStsPolicy.Policy.Mode;

    /// <summary>Whether this instance serves the policies (listeners.mtaSts is on): the records are shown only then.</summary>
    public bool MtaStsListenerOn => Endpoint.TryParseQuiet(deps.Options.Listeners.MtaSts) is not null;

    /// <summary>The "_mta-sts" TXT record and the policy host's CNAME in zone form; null while nothing is served (mode none, or the listener off).</summary>
    public (string Txt, string Host)? MtaStsRecords => MtaStsMode == MtaStsMode.None || !MtaStsListenerOn ? null
        : MtaStsPolicy.ZoneRecords(deps.Options.Hostname, " ");

    /// <summary>
    /// Whether the instance's certificate (tls.certificate) is valid by PKIX for each MX name the policy lists,
    /// as an enforcing sender checks it (RFC 8461 §4.2): shown on the card; enforce is refused unless all pass.
    /// </summary>
    public IReadOnlyList<(string Host, PkixVerdict Verdict)> MtaStsCertificates => _mtaStsCertificates ??=
        MtaStsMxCertificateCheck.Check(deps.DataDirectory, deps.Options, policies.DomainInboundTls(Domain) == InboundTlsSetting.Mandatory, deps.Time.GetUtcNow());

    private IReadOnlyList<(string Host, PkixVerdict Verdict)>? _mtaStsCertificates;

    /// <summary>Resource key (DomainText) of an error to show next to the MTA-STS switch, or null.</summary>
    public string? MtaStsError { get; private set; }

    public List<PolicyChange> Audit { get; private set; } = new();

    /// <summary>The attempts refused under inbound mandatory TLS, and the digest switch (Shared/_RefusedAttempts).</summary>
    public RefusedAttemptsReport Refused { get; private set; } = null!;

    /// <summary>The ordinary MX (options.hostname).</summary>
    public string MailHost => deps.Options.Hostname;

    public string SecureMxHost => deps.Options.EffectiveSecureMxHostname().TrimEnd('.');

    /// <summary>The TLSA record of the secure MX in zone form; null without a certificate.</summary>
    public string? TlsaRecord => deps.Certificate?.Certificate is { } c ? $"_25._tcp.{SecureMxHost}. IN TLSA {TlsaMatcher.DaneEeRecord(c)}" : null;

    /// <summary>The TLSA record of the next key of a rollover (RFC 7671 §8.1) in zone form; null when there is none (or it equals the current one).</summary>
    public string? NextTlsaRecord => NextKeySpki is { } spki && TlsaMatcher.DaneEeRecord(spki) is var next
        && (deps.Certificate?.Certificate is not { } c || TlsaMatcher.DaneEeRecord(c) != next)
        ? $"_25._tcp.{SecureMxHost}. IN TLSA {next}" : null;

    /// <summary>tls/next-key.pem of the instance, read when the page is built; an unreadable one counts as none.</summary>
    private byte[]? NextKeySpki
    {
        get
        {
            if (!_nextKeyRead) (_nextKeySpki, _nextKeyRead) = (ReadNextKeySpki(), true);
            return _nextKeySpki;
        }
    }

    private byte[]? _nextKeySpki;
    private bool _nextKeyRead;

    public OutboundWaitTimes Wait => wait;

    public DomainDnsCheckResult? Check { get; private set; }

    /// <summary>The domain's DKIM keys, newest first (their records are listed, and checked with the DNS check).</summary>
    public IReadOnlyList<SecureMx.Dkim.DkimKey> DkimKeys => _dkimKeys ??= deps.DkimKeys?.List(Domain) ?? [];

    private IReadOnlyList<SecureMx.Dkim.DkimKey>? _dkimKeys;

    /// <summary>The TLS reporting section: the <c>_smtp._tls</c> record and the reports received in the last 30 days (RFC 8460).</summary>
    public TlsReportsSection TlsReports { get; private set; } = null!;

    public bool Saved { get; private set; }

    /// <summary>Resource key (DomainText) of an error to show next to the inbound switch, or null.</summary>
    public string? InboundError { get; private set; }

    public async Task<IActionResult> OnGetAsync(string domain, [FromQuery] string? check, [FromQuery] string? saved, CancellationToken ct)
    {
        if (Authorize(domain) is { } denied) return denied;
        Load();
        Saved = saved == "1";
        if (check == "1")
        {
            var cert = deps.Certificate;
            var chain = cert?.Context.IntermediateCertificates.ToList() ?? [];
            var next = NextTlsaRecord is null ? null : NextKeySpki;
            Check = await new DomainDnsCheck(deps.Resolver, deps.Time).CheckAsync(Domain, SecureMxHost, cert?.Certificate, chain, next, ct,
                mtaStsId: MtaStsRecords is null ? null : MtaStsPolicy.Id, tlsRptRua: HostedTlsRptRecord.Rua(deps.Options, Domain, MtaStsMode != MtaStsMode.None),
                dkimKeys: DkimKeys);
        }
        return Page();
    }

    public IActionResult OnPostInbound(string domain, [FromForm] bool? mandatory, [FromForm] bool confirm)
    {
        if (Authorize(domain) is { } denied) return denied;
        if (mandatory is not { } on) return BadRequest();
        if (on && !confirm)
        {
            // Refusing mail loses it for good: the switch needs the explicit acknowledgement.
            InboundError = "Inbound_ConfirmMissing";
            Load();
            return Page();
        }
        policies.SetInboundTls(Domain, on ? InboundTlsSetting.Mandatory : InboundTlsSetting.Opportunistic, Actor);
        return SavedRedirect();
    }

    public IActionResult OnPostOutbound(string domain, [FromForm] bool? mandatory)
    {
        if (Authorize(domain) is { } denied) return denied;
        if (mandatory is not { } on) return BadRequest();
        policies.SetDomainOutboundTls(Domain, on ? OutboundTlsSetting.Mandatory : OutboundTlsSetting.Default, Actor);
        return SavedRedirect();
    }

    public IActionResult OnPostMtaSts(string domain, [FromForm] string? mode, [FromForm] bool confirm)
    {
        if (Authorize(domain) is { } denied) return denied;
        if (!MtaStsModes.TryParse(mode, out var setting)) return BadRequest();
        if (setting == MtaStsMode.Enforce)
        {
            // Enforce makes senders refuse delivery when TLS to a listed MX cannot be verified: checked before anything
            // is stored (with a certificate that fails, no enforcing sender would deliver at all), then the acknowledgement.
            MtaStsError = !MtaStsMxCertificateCheck.AllValid(MtaStsCertificates) ? "MtaSts_CertificateRefused"
                : !confirm ? "MtaSts_ConfirmMissing" : null;
            if (MtaStsError is not null)
            {
                Load();
                return Page();
            }
        }
        policies.SetDomainMtaStsMode(Domain, setting.Name(), Actor);
        return SavedRedirect();
    }

    public IActionResult OnPostAccountOutbound(string domain, [FromForm] string? address, [FromForm] bool? mandatory)
    {
        if (Authorize(domain) is { } denied) return denied;
        if (mandatory is not { } on || address is null || AccountAuthenticator.Normalize(address) is not { } account) return BadRequest();
        // Only the accounts of the domain in the URL: its administrator may administer no other.
        if (!account.EndsWith("@" + Domain, StringComparison.Ordinal)) return Forbid();
        if (mailboxes.FindMailbox(account) is null) return NotFound();
        policies.SetMailboxOutboundTls(account, on ? OutboundTlsSetting.Mandatory : OutboundTlsSetting.Default, Actor);
        return SavedRedirect();
    }

    /// <summary>The daily refused-mail digest of the domain (off by default).</summary>
    public IActionResult OnPostRefusedDigest(string domain, [FromForm] bool? on)
    {
        if (Authorize(domain) is { } denied) return denied;
        if (on is not { } value) return BadRequest();
        if (!refused.SetDigest(Domain, value)) return NotFound();
        return SavedRedirect();
    }

    private string Actor => "dashboard:" + user.Address;

    private RedirectResult SavedRedirect() => Redirect($"/domain/{Uri.EscapeDataString(Domain)}?saved=1");

    /// <summary>
    /// Authorization before existence: a domain administrator gets 403 for every domain they do not
    /// manage, hosted or not; only a system administrator (who manages all) learns that one is not hosted.
    /// </summary>
    private IActionResult? Authorize(string domain)
    {
        Domain = EnvelopeAddress.NormalizeDomain(domain.Trim().TrimEnd('.')) ?? "";
        if (Domain.Length > 0 && user.CanManageDomain(Domain)) return null;
        return user.IsSystemAdmin ? NotFound() : Forbid();
    }

    private byte[]? ReadNextKeySpki()
    {
        try
        {
            return NextTlsKey.TryReadSpki(deps.DataDirectory);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private void Load()
    {
        InboundMandatory = policies.DomainInboundTls(Domain) == InboundTlsSetting.Mandatory;
        var domainOutbound = policies.DomainOutboundTls(Domain) ?? OutboundTlsSetting.Default;
        OutboundMandatory = domainOutbound == OutboundTlsSetting.Mandatory;
        foreach (var m in policies.MailboxOutboundTlsOf(Domain))
        {
            Accounts.Add(new AccountRow(m.Address, m.Outbound == OutboundTlsSetting.Mandatory, AccountTlsPolicy.InEffect(m.Outbound, domainOutbound)));
        }
        Audit = policies.PolicyAudit(Domain);
        var mtaSts = policies.DomainMtaSts(Domain);
        Refused = RefusedAttemptsReport.Load(refused, Domain, InboundMandatory, deps.Time.GetUtcNow());
        MtaStsPolicy = HostedMtaStsPolicies.For(Domain, mtaSts?.Inbound ?? InboundTlsSetting.Opportunistic, mtaSts?.MtaStsMode ?? "", deps.Options);
        var since = deps.Time.GetUtcNow().AddDays(-TlsReportsSection.Days);
        TlsReports = new TlsReportsSection(Domain, HostedTlsRptRecord.ZoneLine(deps.Options, Domain, MtaStsMode != MtaStsMode.None, " "),
            deps.TlsReports is { } received ? ReceivedTlsReportSummary.Load(received, Domain, since) : null);
    }
}
