using System.Data.Common;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>
/// securemx store copy's copying (<see cref="StoreCopy"/>): a single box's store into an empty target,
/// every table copied or named as not copied, the configuration all or nothing, the logs in batches that
/// say how far they got, a target with rows refused. The source is a single box's SQLite store; the
/// target is the tests' private PostgreSQL (<see cref="StoreCopyToPostgreSqlTests"/>), the real case,
/// and a second SQLite store (<see cref="StoreCopyToSqliteTests"/>), the mechanics on any machine.
/// </summary>
public abstract class StoreCopyTests : IDisposable
{
    private readonly TestStore _source = new(null, null, StoreBackend.Sqlite);
    private readonly TestStore _target;

    /// <param name="target">An empty, migrated store of the backend under test.</param>
    protected StoreCopyTests(TestStore target)
    {
        _target = target;
        Seed();
    }

    /// <summary>A statement that makes the target refuse to insert into <paramref name="table"/> the row for which the SQL <paramref name="condition"/> on NEW holds.</summary>
    protected abstract string RefuseInsert(string table, string condition);

    private void Seed()
    {
        _source.WithExampleData();
        _source.Mailboxes.SetPasswordHash("alice@example.org", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA");
        _source.Mailboxes.SetMailboxLanguage("alice@example.org", MailLanguage.German);
        _source.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "cli:root");
        _source.Policies.SetDomainOutboundTls("other.test", OutboundTlsSetting.Mandatory, "cli:root");
        _source.Policies.SetMailboxOutboundTls("bob@example.org", OutboundTlsSetting.Mandatory, "dashboard:bob@example.org");
        _source.Policies.SetDestinationTls("bank.test", OutboundTlsLevel.Dane, "cli:root");
        _source.Roles.AddSystemAdmin("alice@example.org", "cli:root");
        _source.Roles.AddDomainAdmin("other.test", "bob@example.org", "cli:root");
        _source.Sessions.Start("alice@example.org", TimeSpan.FromHours(8));
        AddLogRows(_source.Database, deliveries: 3, sessions: 2);
    }

    public void Dispose()
    {
        _source.Dispose();
        _target.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public void EveryRowOfEveryCopiedTableArrivesWithAllItsColumns()
    {
        var counts = Copy();

        Assert.Equal(StoreCopy.Configuration.Concat(StoreCopy.Logs).Select(t => t.Name), counts.Select(c => c.Table));
        foreach (var table in StoreCopy.Configuration.Concat(StoreCopy.Logs))
        {
            var expected = Contents(_source.Database, table);
            Assert.NotEmpty(expected);
            Assert.Equal(expected.Count, counts.Single(c => c.Table == table.Name).Rows);
            Assert.Equal(expected, Contents(_target.Database, table));
        }
        // What the server reads from it: the hash, the language, the switches.
        Assert.Equal("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", _target.Mailboxes.FindPasswordHash("alice@example.org"));
        Assert.Equal(MailLanguage.German, _target.Mailboxes.MailboxLanguage("alice@example.org"));
        Assert.Equal(InboundTlsSetting.Mandatory, _target.Policies.DomainInboundTls("example.org"));
        Assert.Equal(OutboundTlsSetting.Mandatory, _target.Policies.MailboxOutboundTls("bob@example.org"));
        Assert.Equal(OutboundTlsLevel.Dane, _target.Policies.DestinationTls("bank.test"));
        Assert.Equal(["alice@example.org"], _target.Roles.ListSystemAdmins());
    }

    [Fact]
    public void TheTargetNumbersTheLogRowsInTheSourcesOrder()
    {
        Copy();
        var sourceOrder = _source.Database.Rows("SELECT message_id FROM delivery_log ORDER BY id", r => r.GetString(0));
        Assert.Equal(sourceOrder, _target.Database.Rows("SELECT message_id FROM delivery_log ORDER BY id", r => r.GetString(0)));
        var audit = _source.Policies.PolicyAudit(null).Select(a => (a.At, a.Actor, a.Subject, a.Setting, a.NewValue));
        Assert.Equal(audit, _target.Policies.PolicyAudit(null).Select(a => (a.At, a.Actor, a.Subject, a.Setting, a.NewValue)));
    }

    [Fact]
    public void DashboardSessionsStayBehindUsersLogInAgain()
    {
        Copy();
        Assert.Equal(1, _source.Count("dashboard_sessions"));
        Assert.Equal(0, _target.Count("dashboard_sessions"));
    }

    [Theory]
    [InlineData("domains")]
    [InlineData("delivery_log")]
    [InlineData("inbound_recipients")]
    public void ATargetThatHoldsRowsIsRefusedAndLeftAsItWas(string occupied)
    {
        _target.Mailboxes.AddDomain("already.test");
        if (occupied != "domains")
        {
            _target.Mailboxes.RemoveDomain("already.test");
            AddLogRows(_target.Database, deliveries: 1, sessions: 1);
        }
        var before = Snapshot(_target.Database);

        var error = Assert.Throws<StoreException>(() => Copy());

        Assert.Contains("not empty", error.Message);
        Assert.Contains(occupied + ": 1", error.Message);
        Assert.Equal(before, Snapshot(_target.Database));
    }

    [Fact]
    public void AFailureInTheConfigurationLeavesTheTargetAsItWas()
    {
        // The third alias cannot be written: domains, mailboxes and the first aliases were already sent.
        _target.Database.Execute(RefuseInsert("aliases", "NEW.address = 'sales@example.org' AND NEW.target = 'bob@example.org'"));

        Assert.Contains("refused by the test", Assert.ThrowsAny<DbException>(() => Copy()).Message);

        Assert.Empty(StoreCopy.OccupiedTables(_target.Database.Connect()));
    }

    [Fact]
    public void AFailureInTheLogsSaysHowFarItGotAndKeepsWhatWasCommitted()
    {
        var rows = StoreCopy.BatchRows * 2 + 500;
        AddLogRows(_source.Database, deliveries: rows, sessions: 0, firstNumber: 100);
        // Row number 2 200 of delivery_log (in id order) cannot be written: two batches were committed.
        var poison = _source.Database.Rows("SELECT message_id FROM delivery_log ORDER BY id LIMIT 1 OFFSET 2199", r => r.GetString(0)).Single();
        _target.Database.Execute(RefuseInsert("delivery_log", $"NEW.message_id = '{poison}'"));

        var error = Assert.Throws<StoreCopyIncompleteException>(() => Copy());

        Assert.Equal("delivery_log", error.Table);
        Assert.Equal(2 * StoreCopy.BatchRows, error.Copied);
        Assert.Contains($"stopped in delivery_log after {2 * StoreCopy.BatchRows} of {rows + 3} row(s)", error.Message);
        Assert.Contains("refused by the test", error.Message);
        Assert.Contains("domains: 2", error.Message);
        Assert.Equal(StoreCopy.Configuration.Select(t => t.Name), error.Complete.Select(c => c.Table));
        Assert.Equal(2 * StoreCopy.BatchRows, _target.Count("delivery_log"));
        Assert.Equal(0, _target.Count("inbound_sessions"));
        Assert.Equal(Contents(_source.Database, StoreCopy.Configuration[1]), Contents(_target.Database, StoreCopy.Configuration[1]));
    }

    private IReadOnlyList<(string Table, long Rows)> Copy()
    {
        using var source = _source.Database.Connect();
        using var target = _target.Database.Connect();
        return StoreCopy.Run(source, target);
    }

    /// <summary>
    /// Every row of a copied table, its columns as text, without the columns the target numbers itself;
    /// sorted here, as the backends' collations may order text differently.
    /// </summary>
    private static List<string> Contents(StoreDatabase db, StoreCopy.Table table) =>
        db.Rows($"SELECT * FROM {table.Name}", r => string.Join("|", Enumerable.Range(0, r.FieldCount)
            .Where(i => !table.TargetAssigned.Contains(r.GetName(i)))
            .Select(i => r.GetName(i) + "=" + (r.IsDBNull(i) ? "NULL" : Convert.ToString(r.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)))))
            .Order(StringComparer.Ordinal).ToList();

    private static string Snapshot(StoreDatabase db) =>
        string.Join("\n", StoreCopy.Configuration.Concat(StoreCopy.Logs).SelectMany(t => Contents(db, t).Prepend(t.Name)));

    /// <summary>Delivery log rows and inbound sessions with one recipient each, every nullable column once filled and once NULL.</summary>
    private static void AddLogRows(StoreDatabase db, int deliveries, int sessions, int firstNumber = 0)
    {
        using var c = db.Connect();
        c.BeginWrite();
        for (int i = firstNumber; i < firstNumber + deliveries; i++)
        {
            c.Execute("""
                INSERT INTO delivery_log(at, message_id, sender, account, recipient, mx_host, ip, result, code, enhanced, text, tls_protocol, tls_cipher, tls_verification, tls_failure)
                VALUES(@at, @id, 'alice@example.org', @account, 'x@remote.test', 'mx.remote.test', '192.0.2.1', 'delivered', 250, '2.0.0', 'ok', 'Tls13', 'TLS_AES_256_GCM_SHA384', 'dane', @failure)
                """, ("@at", 1_700_000_000_000L - i), ("@id", $"m{i:D6}"), ("@account", i % 2 == 0 ? "alice@example.org" : null), ("@failure", i % 2 == 0 ? null : "no STARTTLS"));
        }
        for (int i = firstNumber; i < firstNumber + sessions; i++)
        {
            c.Execute("""
                INSERT INTO inbound_sessions(id, started_at, ended_at, listener, client_ip, helo, tls_protocol, tls_cipher, messages, end_reason, account, auth_failures)
                VALUES(@id, @at, @ended, 'mx', '198.51.100.7', 'client.test', @tls, NULL, 1, 'quit', NULL, 0)
                """, ("@id", $"s{i:D6}"), ("@at", 1_700_000_000_000L + i), ("@ended", i % 2 == 0 ? 1_700_000_001_000L + i : null), ("@tls", i % 2 == 0 ? "Tls13" : null));
            c.Execute("""
                INSERT INTO inbound_recipients(session_id, at, mail_from_domain, recipient_domain, accepted, reply, tls_protocol, tls_cipher, mail_from, recipient, refusal)
                VALUES(@id, @at, 'remote.test', 'example.org', 1, '250 2.1.5 ok', 'Tls13', 'TLS_AES_256_GCM_SHA384', 'a@remote.test', @rcpt, @refusal)
                """, ("@id", $"s{i:D6}"), ("@at", 1_700_000_000_500L + i), ("@rcpt", i % 2 == 0 ? "alice@example.org" : null), ("@refusal", i % 2 == 0 ? null : "mandatory_tls"));
            // TLS reporting: a day's counted sessions, a report sent (and one only claimed), a report received.
            c.Execute("""
                INSERT INTO tls_sessions(day, policy_domain, policy_type, policy_string, mx_host, result_type, sending_ip, receiving_mx, receiving_ip, sessions, detail)
                VALUES(@day, 'remote.test', 'sts', 'version: STSv1', '*.remote.test', @result, '192.0.2.9', 'mx.remote.test', '192.0.2.1', 3, @detail)
                """, ("@day", 1_699_920_000_000L + i * 86_400_000L), ("@result", i % 2 == 0 ? "" : "certificate-expired"), ("@detail", i % 2 == 0 ? null : "expired"));
            c.Execute("""
                INSERT INTO report_sends(kind, domain, day, node, claimed_at, sent_at, result)
                VALUES('tlsrpt', 'remote.test', @day, 'n1', 1700000000000, @sent, @result)
                """, ("@day", 1_699_920_000_000L + i * 86_400_000L), ("@sent", i % 2 == 0 ? 1_700_000_001_000L : null), ("@result", i % 2 == 0 ? "mailed" : null));
            c.Execute("""
                INSERT INTO tls_reports_received(received_at, domain, fingerprint, organization, contact, report_id, start_at, end_at, policy_type, policy_string, successful, failed, details, source)
                VALUES(1700000000000, 'example.org', @fp, 'Sender Org', @contact, @rid, 1699920000000, 1700006399000, 'sts', 'version: STSv1', 10, 1, '[]', 'mail')
                """, ("@fp", $"f{i}"), ("@contact", i % 2 == 0 ? "tlsrpt@sender.test" : null), ("@rid", $"r{i}"));
        }
        c.Commit();
    }
}

/// <summary><see cref="StoreCopyTests"/> into the private PostgreSQL: what securemx store copy does.</summary>
public sealed class StoreCopyToPostgreSqlTests() : StoreCopyTests(new TestStore(null, null, StoreBackend.PostgreSql))
{
    protected override string RefuseInsert(string table, string condition) => $"""
        CREATE FUNCTION refuse_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN IF {condition} THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION refuse_{table}();
        """;
}

/// <summary><see cref="StoreCopyTests"/> into a second SQLite store: the copy's mechanics, whichever backend the process tests.</summary>
public sealed class StoreCopyToSqliteTests() : StoreCopyTests(new TestStore(null, null, StoreBackend.Sqlite))
{
    protected override string RefuseInsert(string table, string condition) =>
        $"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN {condition} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END";
}
