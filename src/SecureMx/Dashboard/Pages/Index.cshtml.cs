using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>The start page: the user's own account and the domains they administer, with their TLS policies.</summary>
public sealed class IndexModel(DashboardUser user, OutboundTlsPolicy outboundTls, TlsPolicyRepository policies) : PageModel
{
    public sealed record DomainRow(string Name, bool InboundMandatory, bool OutboundMandatory);

    public new DashboardUser User => user;

    /// <summary>What is in effect for the user's own mail (the same answer as the account page and `policy show`).</summary>
    public MandatoryTlsSource OwnOutbound { get; private set; }

    public List<DomainRow> Domains { get; } = new();

    public void OnGet()
    {
        OwnOutbound = outboundTls.ForAccount(user.Address)?.MandatoryBy ?? MandatoryTlsSource.None;
        foreach (var d in policies.DomainTlsSettings().Where(x => user.CanManageDomain(x.Domain)))
        {
            Domains.Add(new DomainRow(d.Domain, d.Inbound == InboundTlsSetting.Mandatory, d.Outbound == OutboundTlsSetting.Mandatory));
        }
    }
}
