using Microsoft.AspNetCore.Mvc.RazorPages;
using SecureMx.Store;

namespace SecureMx.Dashboard.Pages;

/// <summary>The start page: the user's own account and the domains they administer, with their TLS policies.</summary>
public sealed class IndexModel(DashboardUser user, SecureMxStore store) : PageModel
{
    public sealed record DomainRow(string Name, bool InboundMandatory, bool OutboundMandatory);

    public new DashboardUser User => user;

    public bool OwnOutboundMandatory { get; private set; }

    public List<DomainRow> Domains { get; } = new();

    public void OnGet()
    {
        OwnOutboundMandatory = store.MailboxOutboundTls(user.Address) == SecureMxStore.OutboundMandatory;
        foreach (var (d, inbound, outbound) in store.DomainTlsSettings().Where(x => user.CanManageDomain(x.Domain)))
        {
            Domains.Add(new DomainRow(d, inbound == SecureMxStore.InboundMandatory, outbound == SecureMxStore.OutboundMandatory));
        }
    }
}
