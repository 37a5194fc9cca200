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
/// adds the REQUIRETLS flag of the message (RFC 8689), off for every message queued before; version 6
/// rebuilds the two keyed tables without rowids and keeps new bytes under an integer key, the bytes queued
/// before where they were.
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

    /// <summary>The tables as version 2 left them (version 1's, and version 2's column).</summary>
    private const string Version2Tables = """
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
        """;

    /// <summary>A queue database exactly as version 2 created it, with one message and <see cref="OldRows"/>.</summary>
    private void CreateVersion2Queue()
    {
        using var c = new SqliteConnection($"Data Source={DbPath}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $$"""
            {{Version2Tables}}
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

    /// <summary>SQL run on the queue's file directly, beside <see cref="QueueDatabase"/> (as another program would); pools cleared after.</summary>
    private void ExecuteOnFile(string sql)
    {
        using (var c = new SqliteConnection($"Data Source={DbPath}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }

    /// <summary>One value read from the queue's file directly (<see cref="ExecuteOnFile"/>).</summary>
    private object ScalarOnFile(string sql)
    {
        object result;
        using (var c = new SqliteConnection($"Data Source={DbPath}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = sql;
            result = cmd.ExecuteScalar()!;
        }
        SqliteConnection.ClearAllPools();
        return result;
    }

    /// <summary>A queue of an older <paramref name="version"/>: the version-2 one migrated to the current one, then what came after that version taken away.</summary>
    private void CreateOlderQueue(int version, string undo)
    {
        CreateVersion2Queue();
        using (Open()) { }
        SqliteConnection.ClearAllPools();
        ExecuteOnFile($"{undo}; PRAGMA user_version = {version}");
    }

    [Fact]
    public void ANewQueueStartsAtVersion6WithItsKeyedTablesWithoutRowids()
    {
        using var queue = Open();
        Assert.Equal(6, UserVersion(queue));
        Assert.Equal(["message_bytes", "message_data", "messages", "recipients", "recipients_due", "sqlite_autoindex_message_data_1"], SchemaObjects(queue));
        Assert.EndsWith("WITHOUT ROWID", TableSql(queue, "messages"));
        Assert.EndsWith("WITHOUT ROWID", TableSql(queue, "recipients"));
    }

    /// <summary>The queue's tables and indexes, SQLite's own and the implicit ones of keys among them.</summary>
    private static List<string> SchemaObjects(QueueDatabase queue)
    {
        using var c = queue.OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' OR name LIKE 'sqlite_autoindex_%' ORDER BY name";
        using var r = cmd.ExecuteReader();
        var names = new List<string>();
        while (r.Read()) names.Add(r.GetString(0));
        return names;
    }

    private static string TableSql(QueueDatabase queue, string table)
    {
        using var c = queue.OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = $name";
        cmd.Parameters.AddWithValue("$name", table);
        return (string)cmd.ExecuteScalar()!;
    }

    private const string LegacyId = "0123456789ABCDEG";
    private const string FileId = "0123456789ABCDEH";
    private static readonly byte[] LegacyBytes = "Subject: queued before version 6\r\n\r\nbody\r\n"u8.ToArray();

    /// <summary>
    /// A queue exactly as version 5 left it: rowid tables beside their keys' indexes, the bytes in
    /// <c>message_data</c>. <see cref="Id"/> and <see cref="LegacyId"/> have their bytes there, <see cref="FileId"/> in a data file.
    /// </summary>
    private void CreateVersion5Queue()
    {
        using (var c = new SqliteConnection($"Data Source={DbPath}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = $$"""
                PRAGMA journal_mode=WAL;
                {{Version2Tables}}
                ALTER TABLE recipients ADD COLUMN last_reason TEXT;
                ALTER TABLE recipients ADD COLUMN last_status TEXT;
                ALTER TABLE recipients ADD COLUMN last_code INTEGER;
                ALTER TABLE recipients ADD COLUMN last_tls_level TEXT;
                ALTER TABLE recipients ADD COLUMN last_tls_source TEXT;
                ALTER TABLE recipients ADD COLUMN last_host TEXT;
                ALTER TABLE recipients ADD COLUMN last_address TEXT;
                ALTER TABLE messages ADD COLUMN requiretls INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE messages ADD COLUMN auth_results TEXT;
                PRAGMA user_version = 5;
                INSERT INTO messages VALUES($id, $at, 'alice@example.test', 100, 'SevenBit', 0, 'Headers', 'env-1', 'submission', '192.0.2.7', 'client', 'ESMTPSA',
                  'TLSv1.3', 'TLS_AES_256_GCM_SHA384', 'alice@example.test', 1, 'Authentication-Results: mx.test; spf=pass');
                INSERT INTO messages(id, received_at, sender, size, body, smtputf8, listener, client_ip, client_helo, protocol)
                  VALUES($legacy, $at, 'b@example.test', $size, 'EightBitMime', 1, 'mx', '192.0.2.8', 'peer', 'ESMTPS');
                INSERT INTO messages(id, received_at, sender, size, body, smtputf8, listener, client_ip, client_helo, protocol)
                  VALUES($file, $at, '', 5, 'SevenBit', 0, 'mx', '192.0.2.9', 'peer', 'ESMTP');
                INSERT INTO recipients(message_id, idx, address, original, route, maildir, notify, orcpt_type, orcpt, state, attempts, next_attempt_at,
                  last_error, updated_at, delay_warned, last_reason, last_status, last_code, last_host, last_address)
                  VALUES($legacy, 0, 'c@dest.test', 'C@dest.test', 'Remote', NULL, 6, 'rfc822', 'C@dest.test', 'Deferred', 2, $at,
                  '4.2.1 mx.remote.test[192.0.2.3] said: 450 4.2.1 mailbox busy', $at, 1, 'remote-reply', '4.2.1', 450, 'mx.remote.test', '192.0.2.3');
                INSERT INTO recipients(message_id, idx, address, original, route, maildir, notify, state, next_attempt_at, updated_at)
                  VALUES($legacy, 1, 'd@example.test', 'd@example.test', 'Local', 'example.test/d', 0, 'Queued', $at, $at);
                INSERT INTO recipients(message_id, idx, address, original, route, maildir, notify, state, next_attempt_at, updated_at)
                  VALUES($file, 0, 'e@example.test', 'e@example.test', 'Local', 'example.test/e', 0, 'Queued', $at, $at);
                INSERT INTO message_data(id, data) VALUES($id, x'00');
                INSERT INTO message_data(id, data) VALUES($legacy, $bytes);
                """;
            cmd.Parameters.AddWithValue("$id", Id);
            cmd.Parameters.AddWithValue("$legacy", LegacyId);
            cmd.Parameters.AddWithValue("$file", FileId);
            cmd.Parameters.AddWithValue("$at", Received.ToUnixTimeMilliseconds());
            cmd.Parameters.AddWithValue("$size", LegacyBytes.Length);
            cmd.Parameters.AddWithValue("$bytes", LegacyBytes);
            cmd.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();
    }

    private static byte[] ReadInline(QueueDatabase queue, string id)
    {
        using var stream = queue.OpenInlineData(id) ?? throw new InvalidOperationException($"{id}: no bytes in the queue");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static long Count(QueueDatabase queue, string table)
    {
        using var c = queue.OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public void AVersion5QueueKeepsEveryEnvelopeAndRecipientColumnAcrossTheRebuild()
    {
        CreateVersion5Queue();
        (Envelope, List<QueuedRecipient>)[] before;
        // Before the rebuild: the three implicit indexes of the text keys (messages, recipients, message_data).
        SqliteConnection.ClearAllPools();
        Assert.Equal(3L, (long)ScalarOnFile("SELECT COUNT(*) FROM sqlite_schema WHERE name LIKE 'sqlite_autoindex_%'"));
        using (var queue = Open())
        {
            Assert.Equal(6, UserVersion(queue));
            before = [queue.Load(Id)!.Value, queue.Load(LegacyId)!.Value, queue.Load(FileId)!.Value];
        }

        var (envelope, recipients) = before[0];
        Assert.Equal("alice@example.test", envelope.Sender);
        Assert.True(envelope.Parameters.RequireTls);
        Assert.Equal("env-1", envelope.Parameters.EnvId);
        Assert.Equal(DsnReturn.Headers, envelope.Parameters.Ret);
        Assert.Equal("TLS_AES_256_GCM_SHA384", envelope.Client.Tls?.CipherSuite);
        Assert.Equal("alice@example.test", envelope.Client.Account);
        Assert.Equal("Authentication-Results: mx.test; spf=pass", envelope.AuthenticationResults);
        Assert.Empty(recipients);
        var legacy = before[1].Item2;
        Assert.Equal(2, legacy.Count);
        Assert.Equal(RecipientState.Deferred, legacy[0].State);
        Assert.Equal(2, legacy[0].Attempts);
        Assert.True(legacy[0].DelayWarned);
        Assert.Equal(("C@dest.test", "rfc822", "C@dest.test"), (legacy[0].Recipient.OriginalAddress, legacy[0].Recipient.OrcptType, legacy[0].Recipient.Orcpt));
        Assert.Equal(new DeliveryOutcome(RecipientState.Deferred, OutcomeReason.RemoteReply, EnhancedStatus.Parse("4.2.1"),
            "4.2.1 mx.remote.test[192.0.2.3] said: 450 4.2.1 mailbox busy", 450, null, "mx.remote.test", IPAddress.Parse("192.0.2.3")), legacy[0].LastOutcome);
        Assert.Equal(("example.test/d", RecipientState.Queued), (legacy[1].Recipient.Maildir, legacy[1].State));
        SqliteConnection.ClearAllPools();
        using var again = Open();
        Assert.Equal(before.Select(b => b.Item2), [again.Load(Id)!.Value.Recipients, again.Load(LegacyId)!.Value.Recipients, again.Load(FileId)!.Value.Recipients]);
        Assert.Equal(["message_bytes", "message_data", "messages", "recipients", "recipients_due", "sqlite_autoindex_message_data_1"], SchemaObjects(again));
    }

    [Fact]
    public async Task BytesQueuedBeforeVersion6AreReadAndRemovedFromTheOldTableAndNewBytesGoToTheNewOne()
    {
        CreateVersion5Queue();
        using var queue = Open();

        Assert.Equal(LegacyBytes, ReadInline(queue, LegacyId));
        Assert.Null(queue.OpenInlineData(FileId));
        Assert.Null(queue.OpenInlineData("FEDCBA9876543210"));

        var envelope = new Envelope("FEDCBA9876543210", Received, "a@b.test", 17,
            new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            new ClientTrace("mx", "192.0.2.7", "client", "ESMTP", null, null),
            [new EnvelopeRecipient("bob@dest.test", "bob@dest.test", RecipientRoute.Local, "dest.test/bob", DsnNotify.Unspecified, null, null)]);
        var data = _dir.Combine("incoming");
        await File.WriteAllTextAsync(data, "Subject: x\r\n\r\nx\r\n", TestContext.Current.CancellationToken);
        await queue.InsertAsync(envelope, data, TimeProvider.System);
        Assert.Equal(await File.ReadAllBytesAsync(data, TestContext.Current.CancellationToken), ReadInline(queue, envelope.Id));
        Assert.Equal((1L, 2L), (Count(queue, "message_bytes"), Count(queue, "message_data")));

        await queue.RemoveMessageAsync(LegacyId, synced: true);
        await queue.RemoveMessageAsync(envelope.Id, synced: true);

        Assert.Null(queue.Load(LegacyId));
        Assert.Null(queue.OpenInlineData(LegacyId));
        Assert.Equal((0L, 1L), (Count(queue, "message_bytes"), Count(queue, "message_data")));
        Assert.Equal([0], ReadInline(queue, Id));
    }

    [Fact]
    public void AQueueANewerProgramWroteIsRefusedForWritingAndForReadingAndLeftAsItIs()
    {
        using (var queue = Open()) { }
        SqliteConnection.ClearAllPools();
        ExecuteOnFile($"PRAGMA user_version = {QueueSchema.Version + 1}");

        var written = Assert.Throws<SecureMx.Store.StoreException>(() => Open().Dispose());
        var read = Assert.Throws<SecureMx.Store.StoreException>(() => QueueDatabase.OpenForReading(DbPath, _dir.Path, NullLogger.Instance).Dispose());

        Assert.Equal($"the queue {DbPath} has schema version {QueueSchema.Version + 1}, newer than this SecureMx knows ({QueueSchema.Version}): " +
            "a newer SecureMx wrote it; run that one (or a newer one)", written.Message);
        Assert.Equal(written.Message, read.Message);
        SqliteConnection.ClearAllPools();
        Assert.Equal(QueueSchema.Version + 1L, (long)ScalarOnFile("PRAGMA user_version"));
    }

    [Fact]
    public void AVersion6MigrationThatFailsLeavesTheVersion5QueueWholeAndTheNextStartCompletesIt()
    {
        CreateVersion5Queue();
        // In the way of the rebuild's first step, as a failed write would be of any later one.
        ExecuteOnFile("CREATE TABLE messages_v6(x)");

        Assert.Throws<SqliteException>(() => Open().Dispose());
        SqliteConnection.ClearAllPools();

        Assert.Equal(5L, (long)ScalarOnFile("PRAGMA user_version"));
        Assert.Equal("3/3/2", (string)ScalarOnFile("SELECT (SELECT COUNT(*) FROM messages) || '/' || (SELECT COUNT(*) FROM recipients) || '/' || (SELECT COUNT(*) FROM message_data)"));
        ExecuteOnFile("DROP TABLE messages_v6");
        using var queue = Open();
        Assert.Equal(6, UserVersion(queue));
        Assert.Equal(LegacyBytes, ReadInline(queue, LegacyId));
    }

    [Fact]
    public async Task AVersion4QueueGetsTheAuthenticationResultsColumnAndKeepsTheFieldAcrossAReopen()
    {
        CreateOlderQueue(4, "ALTER TABLE messages DROP COLUMN auth_results");
        const string results = "Authentication-Results: mx.test;\r\n\tspf=pass smtp.mailfrom=a@b.test;\r\n\tdkim=none;\r\n\tdmarc=none header.from=b.test\r\n";
        using (var queue = Open())
        {
            Assert.Equal(QueueSchema.Version, UserVersion(queue));
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
            Assert.Equal(QueueSchema.Version, UserVersion(queue));
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
