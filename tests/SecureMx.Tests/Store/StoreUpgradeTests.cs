using Microsoft.Data.Sqlite;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// A single box made before several nodes could share a store (schema step 11, the node columns and the
/// cluster's tables) upgrades in place when the new program opens it: every row is still there and read
/// as before, the new columns hold their defaults, the new tables are empty, and it can then be copied
/// into a shared store.
/// </summary>
public sealed class StoreUpgradeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly string[] OldTables =
    [
        "domains", "mailboxes", "aliases", "tls_destinations", "policy_audit", "system_admins", "domain_admins",
        "dashboard_sessions", "delivery_log", "inbound_sessions", "inbound_recipients",
    ];

    private static readonly string[] NewTables = ["nodes", "node_queue", "login_failures", "login_known_good", "dashboard_keys"];

    [Fact]
    public void AStoreOfTheVersionBeforeSeveralNodesKeepsEveryRowAndGetsTheNewColumnsDefaulted()
    {
        // The store as the previous version left it: every step before the node columns (found by its
        // text: later steps are appended after it), WAL as the server runs it, a row in every table.
        int before = Array.FindIndex(StoreSchema.Migrations, m => m.Contains("ALTER TABLE delivery_log ADD COLUMN node", StringComparison.Ordinal));
        Assert.True(before > 0);
        using (var c = new SqliteConnection($"Data Source={_dir.Combine(StoreDatabase.FileName)};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;\n" + string.Join("\n", StoreSchema.Migrations.Take(before)) + $"""

                PRAGMA user_version = {before};
                INSERT INTO domains(name, created_at, inbound_tls, outbound_tls) VALUES('a.test', 1, 'mandatory', 'default');
                INSERT INTO mailboxes(address, domain, password_hash, maildir, created_at, outbound_tls, language) VALUES('old@a.test', 'a.test', 'hash-of-old', 'mail/a.test/old', 2, 'mandatory', 'de');
                INSERT INTO aliases(address, domain, target, created_at) VALUES('info@a.test', 'a.test', 'old@a.test', 3);
                INSERT INTO tls_destinations(domain, level, updated_at) VALUES('bank.test', 'dane-only', 4);
                INSERT INTO policy_audit(at, actor, subject, setting, old_value, new_value) VALUES(5, 'cli:root', 'a.test', 'inbound_tls', 'opportunistic', 'mandatory');
                INSERT INTO system_admins(address, created_at) VALUES('old@a.test', 6);
                INSERT INTO domain_admins(domain, address, created_at) VALUES('a.test', 'old@a.test', 7);
                INSERT INTO dashboard_sessions(id_hash, account, created_at, last_seen_at, expires_at) VALUES('h', 'old@a.test', 8, 8, 9999999999999);
                INSERT INTO delivery_log(at, message_id, sender, recipient, result, tls_verification, tls_failure) VALUES(9, 'q1', 'old@a.test', 'x@remote.test', 'delivered', 'dane', NULL);
                INSERT INTO inbound_sessions(id, started_at, listener, client_ip, messages, account, auth_failures) VALUES('s1', 10, 'mx', '192.0.2.1', 1, NULL, 0);
                INSERT INTO inbound_recipients(session_id, at, recipient_domain, accepted, reply) VALUES('s1', 11, 'a.test', 1, '250 2.1.5 ok');
                """;
            cmd.ExecuteNonQuery();
        }

        using var store = new TestStore(_dir.Path, TimeProvider.System, StoreBackend.Sqlite);

        Assert.Equal((long)StoreSchema.Migrations.Length, Convert.ToInt64(store.Database.Scalar("PRAGMA user_version")));
        foreach (var table in OldTables) Assert.True(store.Count(table) == 1, $"{table} lost its row");
        foreach (var table in NewTables) Assert.True(store.Count(table) == 0, $"{table} is not empty");
        Assert.Equal("", store.Database.Scalar("SELECT node FROM delivery_log WHERE message_id = 'q1'"));
        Assert.Equal("", store.Database.Scalar("SELECT node FROM inbound_sessions WHERE id = 's1'"));
        // Read as before by the repositories the server uses.
        var lookup = store.Mailboxes.LookupRecipient("a.test", ["info@a.test"]);
        Assert.Equal(InboundTlsSetting.Mandatory, lookup!.InboundTls);
        Assert.Equal("mail/a.test/old", Assert.Single(lookup.Targets).Maildir);
        Assert.Equal("hash-of-old", store.Mailboxes.FindPasswordHash("old@a.test"));
        Assert.Equal(MailLanguage.German, store.Mailboxes.MailboxLanguage("old@a.test"));
        Assert.Equal(OutboundTlsSetting.Mandatory, store.Policies.MailboxOutboundTls("old@a.test"));
        Assert.Equal(OutboundTlsLevel.DaneOnly, store.Policies.DestinationTls("bank.test"));
        Assert.Equal(["a.test"], store.Roles.AdministeredDomains("old@a.test"));
        Assert.Equal("q1", Assert.Single(store.DeliveryLog.Query(null, null, null, 10)).MessageId);

        // And the upgraded single box can move into a cluster (the store of this test run's backend).
        using var target = new TestStore();
        using (var from = store.Database.Connect())
        using (var to = target.Database.Connect())
        {
            var counts = StoreCopy.Run(from, to);
            // Every old row; the tables of later versions (TLS reporting) come empty.
            Assert.All(counts, c => Assert.Equal(OldTables.Contains(c.Table) ? 1 : 0, c.Rows));
            Assert.Contains(counts, c => c.Table == "inbound_recipients");
        }
        Assert.Equal("", target.Database.Scalar("SELECT node FROM delivery_log"));
    }
}
