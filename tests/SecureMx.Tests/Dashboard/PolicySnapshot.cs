using SecureMx.Store;

namespace SecureMx.Tests.Dashboard;

/// <summary>Every TLS setting and role the dashboard can change, to show that a refused request changed none of them.</summary>
public sealed record PolicySnapshot(string Domains, string Mailboxes, string Destinations, string Roles, int AuditRows)
{
    public static PolicySnapshot Take(SecureMxStore store) => new(
        string.Join(" ", store.ListDomains().Select(d => $"{d}:in={store.DomainInboundTls(d)}:out={store.DomainOutboundTls(d)}")),
        string.Join(" ", store.ListMailboxes().Select(m => $"{m.Address}:out={store.MailboxOutboundTls(m.Address)}")),
        string.Join(" ", store.ListDestinationTls().Select(d => $"{d.Domain}={d.Level}")),
        string.Join(" ", store.ListSystemAdmins()) + " | " + string.Join(" ", store.ListDomains().Select(d => d + ":" + string.Join(",", store.ListDomainAdmins(d)))),
        store.PolicyAudit(null, int.MaxValue).Count);
}
