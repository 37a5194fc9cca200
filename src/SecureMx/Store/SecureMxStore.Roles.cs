namespace SecureMx.Store;

/// <summary>
/// Dashboard roles (schema version 5). A mailbox user manages their own account; a domain
/// administrator the domains they are named for (any mailbox may administer any hosted domain,
/// e.g. the provider's support account); a system administrator everything. Roles are read at
/// every dashboard request, so a revoked role stops working at once. Changes are audited.
/// </summary>
public sealed partial class SecureMxStore
{
    public bool IsSystemAdmin(string address) => Scalar("SELECT address FROM system_admins WHERE address=$k", address) is not null;

    public List<string> ListSystemAdmins() => Strings("SELECT address FROM system_admins ORDER BY address", null);

    /// <summary>The domains <paramref name="address"/> administers, sorted.</summary>
    public List<string> AdministeredDomains(string address) => Strings("SELECT domain FROM domain_admins WHERE address=$k ORDER BY domain", address);

    public List<string> ListDomainAdmins(string domain) => Strings("SELECT address FROM domain_admins WHERE domain=$k ORDER BY address", domain);

    public void AddSystemAdmin(string address, string actor) =>
        ChangeRole(actor, address, "system_admin", address, add: true,
            "INSERT INTO system_admins(address, created_at) VALUES($a, $now) ON CONFLICT DO NOTHING", $"{address} is already a system administrator");

    public void RemoveSystemAdmin(string address, string actor) =>
        ChangeRole(actor, address, "system_admin", address, add: false,
            "DELETE FROM system_admins WHERE address=$a", $"{address} is not a system administrator");

    public void AddDomainAdmin(string domain, string address, string actor)
    {
        if (DomainInboundTls(domain) is null) throw new StoreException($"domain {domain} is not hosted here");
        ChangeRole(actor, domain, "domain_admin", address, add: true,
            "INSERT INTO domain_admins(domain, address, created_at) VALUES($d, $a, $now) ON CONFLICT DO NOTHING", $"{address} is already an administrator of {domain}", domain);
    }

    public void RemoveDomainAdmin(string domain, string address, string actor) =>
        ChangeRole(actor, domain, "domain_admin", address, add: false,
            "DELETE FROM domain_admins WHERE domain=$d AND address=$a", $"{address} is not an administrator of {domain}", domain);

    private void ChangeRole(string actor, string subject, string setting, string address, bool add, string sql, string unchanged, string? domain = null)
    {
        using var c = Open();
        using var tx = c.BeginTransaction();
        if (add && Scalar(c, tx, "SELECT address FROM mailboxes WHERE address=$k", address) is null)
            throw new StoreException($"mailbox {address} does not exist (roles are given to mailboxes, which log in with their password)");
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$a", address);
        cmd.Parameters.AddWithValue("$d", (object?)domain ?? DBNull.Value);
        cmd.Parameters.AddWithValue("$now", Now);
        if (cmd.ExecuteNonQuery() == 0) throw new StoreException(unchanged);
        Audit(c, tx, actor, subject, setting, add ? "" : address, add ? address : "");
        tx.Commit();
    }

    private List<string> Strings(string sql, string? key) => Rows(sql, key, r => r.GetString(0));

    /// <summary>The rows of a query with at most one parameter, $k.</summary>
    private List<T> Rows<T>(string sql, string? key, Func<Microsoft.Data.Sqlite.SqliteDataReader, T> row)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$k", (object?)key ?? DBNull.Value);
        var list = new List<T>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) list.Add(row(r));
        return list;
    }
}
