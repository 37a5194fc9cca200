using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>
/// Queue databases written by earlier versions: a version-2 queue (outcomes as text only) is
/// migrated to version 3 with every old text read into the structured columns, once; version 4
/// adds the REQUIRETLS flag of the message (RFC 8689), off for every message queued before.
/// </summary>
public sealed class QueueSchemaTests : IDisposable
{
    private static readonly DateTimeOffset Received = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private const string Id = "0123456789ABCDEF";
    private readonly TempDirectory _dir = new();

    private string DbPath => _dir.Combine("queue.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>The texts version 2 wrote, as (state, route, last_error).</summary>
    private static readonly (string State, string Route, string? Text)[] OldRows =
    [
        ("Deferred", "Remote", "4.7.4 TLS is required, but was not offered by host mx.other.test[127.0.0.1] (TLS level encrypt (from sender account alice@example.test))"),
        ("Deferred", "Remote", "4.7.5 TLSA lookup error for _25._tcp.mx.tlsa-servfail.test: SERVFAIL (TLS level dane (from global default (delivery.defaultTlsLevel)))"),
        ("Deferred", "Remote", "4.7.5 TLS handshake with mx.weak.test[192.0.2.25] failed: no shared cipher (TLS level encrypt (from destination weak.test))"),
        ("Deferred", "Remote", "4.4.3 DNS lookup of MX for remote.test failed: SERVFAIL"),
        ("Deferred", "Remote", "4.4.1 mx1.remote.test[192.0.2.1]: Connection refused; mx2.remote.test[192.0.2.2]: timed out"),
        ("Deferred", "Remote", "4.2.1 mx.remote.test[192.0.2.3] said: 450 4.2.1 mailbox busy"),
        ("Deferred", "Local", "4.2.0 local delivery failed: Access to the path is denied."),
        ("Failed", "Remote", "5.1.1 mx.remote.test[192.0.2.3] said: 550 5.1.1 no such user"),
        ("Failed", "Remote", "5.6.7 mx.remote.test does not support SMTPUTF8, which this message needs (RFC 6531 3.2)"),
        ("Delivered", "Remote", null),
        ("Queued", "Remote", null),
        ("Deferred", "Remote", "4.7.5 mx.remote.test[192.0.2.3] said: 451 4.7.5 try later"),
        ("Failed", "Remote", "5.7.4 mandatory TLS could not be met within 24h; last error: 4.7.4 TLS is required, but was not offered by host mx.other.test[127.0.0.1] (TLS level encrypt (from sender account alice@example.test))"),
        ("Failed", "Remote", "5.4.7 delivery time expired after 5d; last error: 4.4.3 DNS lookup of MX for remote.test failed: SERVFAIL"),
        ("Deferred", "Remote", "451 try later"),
        ("Failed", "Remote", "5.1.10 remote.test does not accept mail (null MX, RFC 7505)"),
    ];

    /// <summary>A queue database exactly as version 2 created it, with one message and <see cref="OldRows"/>.</summary>
    private void CreateVersion2Queue()
    {
        using var c = new SqliteConnection($"Data Source={DbPath}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            CREATE TABLE messages(id TEXT PRIMARY KEY, received_at INTEGER NOT NULL, sender TEXT NOT NULL, size INTEGER NOT NULL, body TEXT NOT NULL,
              smtputf8 INTEGER NOT NULL, ret TEXT, envid TEXT, listener TEXT NOT NULL, client_ip TEXT NOT NULL, client_helo TEXT NOT NULL,
              protocol TEXT NOT NULL, tls_protocol TEXT, tls_cipher TEXT, account TEXT);
            CREATE TABLE recipients(message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE, idx INTEGER NOT NULL, address TEXT NOT NULL,
              original TEXT NOT NULL, route TEXT NOT NULL, maildir TEXT, notify INTEGER NOT NULL, orcpt_type TEXT, orcpt TEXT, state TEXT NOT NULL,
              attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL, last_error TEXT, updated_at INTEGER NOT NULL,
              PRIMARY KEY(message_id, idx));
            CREATE INDEX recipients_due ON recipients(state, next_attempt_at);
            CREATE TABLE message_data(id TEXT NOT NULL UNIQUE, data BLOB NOT NULL);
            ALTER TABLE recipients ADD COLUMN delay_warned INTEGER NOT NULL DEFAULT 0;
            PRAGMA user_version = 2;
            INSERT INTO messages VALUES($id, $at, 'alice@example.test', 100, 'SevenBit', 0, NULL, NULL, 'submission', '192.0.2.7', 'client', 'ESMTPSA', NULL, NULL, 'alice@example.test');
            """;
        cmd.Parameters.AddWithValue("$id", Id);
        cmd.Parameters.AddWithValue("$at", Received.ToUnixTimeMilliseconds());
        cmd.ExecuteNonQuery();
        for (int i = 0; i < OldRows.Length; i++)
        {
            using var row = c.CreateCommand();
            row.CommandText = """
                INSERT INTO recipients(message_id, idx, address, original, route, maildir, notify, state, attempts, next_attempt_at, last_error, updated_at)
                VALUES($id, $idx, $addr, $addr, $route, $maildir, 0, $state, $attempts, $at, $text, $at)
                """;
            row.Parameters.AddWithValue("$id", Id);
            row.Parameters.AddWithValue("$idx", i);
            row.Parameters.AddWithValue("$addr", $"r{i}@dest.test");
            row.Parameters.AddWithValue("$route", OldRows[i].Route);
            row.Parameters.AddWithValue("$maildir", OldRows[i].Route == "Local" ? "mail/example.test/r" : DBNull.Value);
            row.Parameters.AddWithValue("$state", OldRows[i].State);
            row.Parameters.AddWithValue("$attempts", OldRows[i].State == "Queued" ? 0 : 3);
            row.Parameters.AddWithValue("$at", Received.AddHours(1).ToUnixTimeMilliseconds());
            row.Parameters.AddWithValue("$text", (object?)OldRows[i].Text ?? DBNull.Value);
            row.ExecuteNonQuery();
        }
    }

    private QueueDatabase Open() => new(DbPath, _dir.Path, NullLogger.Instance);

    private static long UserVersion(QueueDatabase queue)
    {
        using var c = queue.OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA user_version";
        return (long)cmd.ExecuteScalar()!;
    }

    private static DeliveryOutcome Outcome(RecipientState state, OutcomeReason reason, string status, int? code, int row,
        RequiredTls? tls = null, string? host = null, string? address = null) =>
        new(state, reason, EnhancedStatus.Parse(status), OldRows[row].Text!, code, tls, host, address is null ? null : IPAddress.Parse(address));

    [Fact]
    public void AVersion2QueueGetsItsOldErrorTextsReadIntoTheOutcomeColumns()
    {
        CreateVersion2Queue();

        using var queue = Open();

        Assert.Equal(QueueSchema.Version, UserVersion(queue));
        var (envelope, rows) = queue.Load(Id)!.Value;
        Assert.Equal(Received, envelope.ReceivedAt);
        Assert.False(envelope.Parameters.RequireTls);
        var sender = new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Sender);
        DeliveryOutcome?[] expected =
        [
            Outcome(RecipientState.Deferred, OutcomeReason.TlsRequirement, "4.7.4", 451, 0, sender, "mx.other.test", "127.0.0.1"),
            Outcome(RecipientState.Deferred, OutcomeReason.TlsRequirement, "4.7.5", 451, 1, new RequiredTls(OutboundTlsLevel.Dane, TlsRequirementSource.DaneRecords)),
            Outcome(RecipientState.Deferred, OutcomeReason.TlsRequirement, "4.7.5", 451, 2, new RequiredTls(OutboundTlsLevel.Encrypt, TlsRequirementSource.Operator), "mx.weak.test", "192.0.2.25"),
            Outcome(RecipientState.Deferred, OutcomeReason.Dns, "4.4.3", 451, 3),
            Outcome(RecipientState.Deferred, OutcomeReason.Connection, "4.4.1", 451, 4),
            Outcome(RecipientState.Deferred, OutcomeReason.RemoteReply, "4.2.1", 450, 5, null, "mx.remote.test", "192.0.2.3"),
            Outcome(RecipientState.Deferred, OutcomeReason.Local, "4.2.0", 451, 6),
            Outcome(RecipientState.Failed, OutcomeReason.RemoteReply, "5.1.1", 550, 7, null, "mx.remote.test", "192.0.2.3"),
            Outcome(RecipientState.Failed, OutcomeReason.ServerCapability, "5.6.7", 553, 8),
            null,
            null,
            Outcome(RecipientState.Deferred, OutcomeReason.RemoteReply, "4.7.5", 451, 11, null, "mx.remote.test", "192.0.2.3"),
            Outcome(RecipientState.Failed, OutcomeReason.Expired, "5.7.4", 554, 12, sender, "mx.other.test", "127.0.0.1"),
            Outcome(RecipientState.Failed, OutcomeReason.Expired, "5.4.7", 554, 13),
            Outcome(RecipientState.Deferred, OutcomeReason.Connection, "4.0.0", 451, 14),
            Outcome(RecipientState.Failed, OutcomeReason.Dns, "5.1.10", 556, 15),
        ];
        for (int i = 0; i < expected.Length; i++) Assert.True(Equals(expected[i], rows[i].LastOutcome), $"row {i}: expected {expected[i]}, got {rows[i].LastOutcome}");
        Assert.Equal(OldRows.Select(r => r.State == "Delivered" ? null : r.Text), rows.Select(r => r.LastError));
    }

    [Fact]
    public void AMigratedTlsWaitKeepsItsShorterExpiryAndAServersOwn475DoesNot()
    {
        CreateVersion2Queue();
        var rules = new QueueTimeRules(new QueueOptions());

        using var queue = Open();

        var (_, rows) = queue.Load(Id)!.Value;
        Assert.Equal(Received.AddHours(24), rules.ExpiresAt(Received, rows[0].LastOutcome));
        Assert.Equal(Received.AddDays(5), rules.ExpiresAt(Received, rows[11].LastOutcome));
        Assert.Equal([0, 1, 2], rows.Where(r => r.LastOutcome?.IsTlsWait == true).Select(r => r.Index));
    }

    [Fact]
    public async Task AMigratedQueueOpensAgainUnchangedAndTakesNewOutcomes()
    {
        CreateVersion2Queue();
        List<QueuedRecipient> first;
        using (var queue = Open()) first = queue.Load(Id)!.Value.Recipients;

        using var again = Open();

        Assert.Equal(QueueSchema.Version, UserVersion(again));
        Assert.Equal(first, again.Load(Id)!.Value.Recipients);
        await again.UpdateRecipientAsync(Id, 10, TestOutcomes.TlsWait(), Received.AddHours(2), TimeProvider.System);
        Assert.Equal(TestOutcomes.TlsWait(), again.Load(Id)!.Value.Recipients[10].LastOutcome);
    }

    /// <summary>A queue of an older <paramref name="version"/>: the version-2 one migrated to the current one, then what came after that version taken away.</summary>
    private void CreateOlderQueue(int version, string undo)
    {
        CreateVersion2Queue();
        using (Open()) { }
        SqliteConnection.ClearAllPools();
        using (var c = new SqliteConnection($"Data Source={DbPath}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $"{undo}; PRAGMA user_version = {version}";
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void ANewQueueStartsAtVersion5()
    {
        using var queue = Open();
        Assert.Equal(5, UserVersion(queue));
    }

    [Fact]
    public async Task AVersion4QueueGetsTheAuthenticationResultsColumnAndKeepsTheFieldAcrossAReopen()
    {
        CreateOlderQueue(4, "ALTER TABLE messages DROP COLUMN auth_results");
        const string results = "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@b.test;\r\n\tdkim=none;\r\n\tdmarc=none header.from=b.test\r\n";
        using (var queue = Open())
        {
            Assert.Equal(5, UserVersion(queue));
            Assert.Null(queue.Load(Id)!.Value.Envelope.AuthenticationResults);
            var envelope = new Envelope("FEDCBA9876543210", Received, "a@b.test", 10,
                new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
                new ClientTrace("mx", "192.0.2.7", "client", "ESMTP", null, null),
                [new EnvelopeRecipient("bob@dest.test", "bob@dest.test", RecipientRoute.Local, "dest.test/bob", DsnNotify.Unspecified, null, null)])
            {
                AuthenticationResults = results,
            };
            var data = _dir.Combine("incoming");
            await File.WriteAllTextAsync(data, "Subject: x\r\n\r\nx\r\n", TestContext.Current.CancellationToken);
            await queue.InsertAsync(envelope, data, TimeProvider.System);
        }
        SqliteConnection.ClearAllPools();
        using var reopened = Open();
        Assert.Equal(results, reopened.Load("FEDCBA9876543210")!.Value.Envelope.AuthenticationResults);
    }

    [Fact]
    public async Task AVersion3QueueGetsTheRequireTlsColumnAndKeepsTheFlagOfNewMessagesAcrossAReopen()
    {
        CreateOlderQueue(3, "ALTER TABLE messages DROP COLUMN requiretls; ALTER TABLE messages DROP COLUMN auth_results");
        using (var queue = Open())
        {
            Assert.Equal(5, UserVersion(queue));
            Assert.False(queue.Load(Id)!.Value.Envelope.Parameters.RequireTls);
            var envelope = new Envelope("FEDCBA9876543210", Received, "alice@example.test", 10,
                new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null, RequireTls: true),
                new ClientTrace("submission", "192.0.2.7", "client", "ESMTPSA", new NegotiatedTls("TLSv1.3", "TLS_AES_256_GCM_SHA384"), "alice@example.test"),
                [new EnvelopeRecipient("bob@dest.test", "bob@dest.test", RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)]);
            var data = _dir.Combine("incoming");
            await File.WriteAllTextAsync(data, "Subject: x\r\n\r\nx\r\n", TestContext.Current.CancellationToken);
            await queue.InsertAsync(envelope, data, TimeProvider.System);
        }
        SqliteConnection.ClearAllPools();
        using var reopened = Open();
        Assert.True(reopened.Load("FEDCBA9876543210")!.Value.Envelope.Parameters.RequireTls);
        Assert.False(reopened.Load(Id)!.Value.Envelope.Parameters.RequireTls);
    }
}
