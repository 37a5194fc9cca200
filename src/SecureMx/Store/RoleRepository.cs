namespace SecureMx.Store;

/// <summary>
/// Dashboard roles (schema version 5). A mailbox user manages their own account; a domain
/// administrator the domains they are named for (any mailbox may administer any hosted domain,
/// e.g. the provider's support account); a system administrator everything. A change ends the
/// account's dashboard sessions (<see cref="DashboardSessionRepository"/>), and roles are read at
/// every dashboard request besides. Changes are audited.
/// </summary>
public sealed class RoleRepository(StoreDatabase db, TimeProvider time)
{
    public bool IsSystemAdmin(string address) => db.Scalar("SELECT 1 FROM system_admins WHERE address=@a", ("@a", address)) is not null;

    public List<string> ListSystemAdmins() => Strings("SELECT address FROM system_admins ORDER BY address", null);

    /// <summary>The domains <paramref name="address"/> administers, sorted.</summary>
    public List<string> AdministeredDomains(string address) => Strings("SELECT domain FROM domain_admins WHERE address=@k ORDER BY domain", address);

    public List<string> ListDomainAdmins(string domain) => Strings("SELECT address FROM domain_admins WHERE domain=@k ORDER BY address", domain);

    public void AddSystemAdmin(string address, string actor) =>
        ChangeRole(actor, address, "system_admin", address, add: true,
            "INSERT INTO system_admins(address, created_at) VALUES(@a, @now) ON CONFLICT DO NOTHING", $"{address} is already a system administrator");

    public void RemoveSystemAdmin(string address, string actor) =>
        ChangeRole(actor, address, "system_admin", address, add: false,
            "DELETE FROM system_admins WHERE address=@a", $"{address} is not a system administrator");

    public void AddDomainAdmin(string domain, string address, string actor) =>
        ChangeRole(actor, domain, "domain_admin", address, add: true,
            "INSERT INTO domain_admins(domain, address, created_at) VALUES(@d, @a, @now) ON CONFLICT DO NOTHING", $"{address} is already an administrator of {domain}", domain);

    public void RemoveDomainAdmin(string domain, string address, string actor) =>
        ChangeRole(actor, domain, "domain_admin", address, add: false,
            "DELETE FROM domain_admins WHERE domain=@d AND address=@a", $"{address} is not an administrator of {domain}", domain);

    private void ChangeRole(string actor, string subject, string setting, string address, bool add, string sql, string unchanged, string? domain = null)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        using var c = db.Connect();
        c.BeginWrite();
        if (add && domain is not null && c.Scalar("SELECT 1 FROM domains WHERE name=@d", ("@d", domain)) is null)
            throw new StoreException($"domain {domain} is not hosted here");
        if (add && c.Scalar("SELECT 1 FROM mailboxes WHERE address=@a", ("@a", address)) is null)
            throw new StoreException($"mailbox {address} does not exist (roles are given to mailboxes, which log in with their password)");
        if (c.Execute(sql, ("@a", address), ("@d", domain), ("@now", now)) == 0) throw new StoreException(unchanged);
        PolicyAuditTrail.Record(c, now, actor, subject, setting, add ? "" : address, add ? address : "");
        // A session never changes its rights under way: the account logs in again (OWASP: renew the session on a privilege change).
        DashboardSessionRepository.RevokeAll(c, now, address, "role changed");
        c.Commit();
    }

    private List<string> Strings(string sql, string? key) => db.Rows(sql, r => r.GetString(0), ("@k", key));
}
