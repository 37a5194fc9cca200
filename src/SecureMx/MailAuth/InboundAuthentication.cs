using SecureMx.MailAuth.Dkim;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MailAuth.Spf;

namespace SecureMx.MailAuth;

/// <summary>
/// What authenticating one inbound message found: SPF for MAIL FROM (the reported one) and for HELO
/// (RFC 7208 §2.3, logged), the DKIM signatures checked, DMARC, the Authentication-Results field to
/// prepend at delivery, and how many signatures went unchecked.
/// </summary>
public sealed record InboundAuthentication(
    SpfVerdict MailFromSpf,
    SpfVerdict HeloSpf,
    IReadOnlyList<DkimSignatureResult> Dkim,
    int UncheckedSignatures,
    DmarcVerdict Dmarc,
    string HeaderField)
{
    /// <summary>"spf=pass dkim=pass dmarc=pass", for the session and delivery logs.</summary>
    public string Summary => AuthenticationResultsHeader.Summary(MailFromSpf, Dkim, Dmarc);

    /// <summary>DMARC failed and the From: domain asks for rejection (p=reject, pct=100) — the only case enforcement refuses.</summary>
    public bool DmarcAsksForReject => Dmarc.Result == DmarcResult.Fail && Dmarc.Disposition == DmarcPolicy.Reject;

    /// <summary>DMARC failed and the domain asks for quarantine: accepted and marked (the header field says dmarc=fail, dis=quarantine).</summary>
    public bool DmarcAsksForQuarantine => Dmarc.Result == DmarcResult.Fail && Dmarc.Disposition == DmarcPolicy.Quarantine;
}
