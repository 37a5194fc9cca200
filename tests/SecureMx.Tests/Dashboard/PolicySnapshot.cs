using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>Every TLS setting and role the dashboard can change, to show that a refused request changed none of them.</summary>
public sealed record PolicySnapshot(string Domains, string Mailboxes, string Destinations, string Roles, int AuditRows)
{
    public static PolicySnapshot Take(TestStore store) => new(
        string.Join(" ", store.Mailboxes.ListDomains().Select(d => $"{d}:in={store.Policies.DomainInboundTls(d)}:out={store.Policies.DomainOutboundTls(d)}:sts={store.Policies.DomainMtaSts(d)?.MtaStsMode}")),
        string.Join(" ", store.Mailboxes.ListMailboxes().Select(m => $"{m.Address}:out={store.Policies.MailboxOutboundTls(m.Address)}")),
        string.Join(" ", store.Policies.ListDestinationTls().Select(d => $"{d.Domain}={d.Level}")),
        string.Join(" ", store.Roles.ListSystemAdmins()) + " | " + string.Join(" ", store.Mailboxes.ListDomains().Select(d => d + ":" + string.Join(",", store.Roles.ListDomainAdmins(d)))),
        store.Policies.PolicyAudit(null, int.MaxValue).Count);
}
