using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Spool;

/// <summary>The queue index: envelopes and per-recipient state in SQLite.</summary>
public sealed class QueueDatabaseTests : IDisposable
{
    private readonly TestSpool _test = new(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
    private FakeTimeProvider Clock => _test.Time;
    private MessageSpool Spool => _test.Spool;

    private QueueDatabase Queue => Spool.Queue;

    public void Dispose() => _test.Dispose();

    private Task<SpoolFile> ReceiveAsync(string id, byte[] content) => _test.ReceiveAsync(id, content);

    private Envelope NewEnvelope(string? id = null, NegotiatedTls? tls = null, params EnvelopeRecipient[] recipients)
    {
        id ??= MessageId.New(Clock);
        if (recipients.Length == 0)
        {
            recipients =
            [
                new("alice@example.org", "sales@example.org", RecipientRoute.Local, "mail/example.org/alice", DsnNotify.Success | DsnNotify.Failure, "rfc822", "sales@example.org"),
                new("bob@example.org", "bob@example.org", RecipientRoute.Local, "mail/example.org/bob", DsnNotify.Unspecified, null, null),
            ];
        }
        return new Envelope(
            id,
            Clock.GetUtcNow(),
            "sender@remote.example",
            1234,
            new MailParameters(null, BodyType.EightBitMime, true, DsnReturn.Headers, "ENV-1"),
            new ClientTrace("mx", "192.0.2.7", "client.remote.example", "UTF8SMTPS", tls, null),
            recipients);
    }

    [Fact]
    public async Task OpenedForReadingItSeesWhatTheWriterCommittedAndRefusesToWrite()
    {
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock); // the writer's connection stays open: the row is in the write-ahead log
        Assert.True(new FileInfo(Queue.DatabasePath + "-wal").Length > 0);

        using var reader = MessageSpool.OpenForReading(Spool.Root, Clock, NullLogger.Instance);

        Assert.True(reader.Queue.IsReadOnly);
        Assert.Equal(e.Sender, reader.Queue.Load(e.Id)!.Value.Envelope.Sender);
        Assert.Equal([e.Id], reader.Queue.ListAll().Select(m => m.Envelope.Id));
        await Assert.ThrowsAsync<InvalidOperationException>(() => reader.Queue.RemoveMessageAsync(e.Id, synced: true));
        Assert.NotNull(Queue.Load(e.Id));
    }

    [Fact]
    public async Task InsertedEnvelopeLoadsBackUnchanged()
    {
        var tls = new NegotiatedTls("TLSv1.3", "TLS_AES_256_GCM_SHA384");
        var e = NewEnvelope(tls: tls);
        await Queue.InsertAsync(e, null, Clock);

        var loaded = Queue.Load(e.Id);
        Assert.NotNull(loaded);
        var (env, rows) = loaded.Value;
        Assert.Equal(e.Id, env.Id);
        Assert.Equal(e.ReceivedAt, env.ReceivedAt);
        Assert.Equal(e.Sender, env.Sender);
        Assert.Equal(e.Size, env.Size);
        Assert.Equal(e.Parameters with { Size = null }, env.Parameters);
        Assert.Equal(e.Client, env.Client);
        Assert.Equal(e.Recipients, env.Recipients);
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r =>
        {
            Assert.Equal(RecipientState.Queued, r.State);
            Assert.Equal(0, r.Attempts);
            Assert.Null(r.LastError);
            Assert.Equal(Clock.GetUtcNow(), r.NextAttemptAt);
        });
        Assert.Equal([0, 1], rows.Select(r => r.Index));
    }

    [Fact]
    public async Task NullSenderAndPlaintextRoundTrip()
    {
        var e = NewEnvelope() with
        {
            Sender = "",
            Parameters = new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
            Client = new ClientTrace("mx", "::1", "h", "ESMTP", null, null),
        };
        await Queue.InsertAsync(e, null, Clock);
        var (env, _) = Queue.Load(e.Id)!.Value;
        Assert.Equal("", env.Sender);
        Assert.Null(env.Client.Tls);
        Assert.Equal(DsnReturn.Unspecified, env.Parameters.Ret);
        Assert.Null(env.Parameters.EnvId);
    }

    [Fact]
    public void LoadOfUnknownIdIsNull()
    {
        Assert.Null(Queue.Load("0000000000000000"));
    }

    [Fact]
    public async Task DuplicateIdIsRefused()
    {
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock);
        await Assert.ThrowsAsync<SqliteException>(() => Queue.InsertAsync(e, null, Clock));
        Assert.NotNull(Queue.Load(e.Id)); // the first one is untouched
    }

    [Fact]
    public async Task UpdateRecipientChangesOnlyThatRecipient()
    {
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock);
        var next = Clock.GetUtcNow().AddMinutes(5);
        await Queue.UpdateRecipientAsync(e.Id, 1, TestOutcomes.Deferred("4.4.1 try later"), next, Clock);

        var (_, rows) = Queue.Load(e.Id)!.Value;
        Assert.Equal(RecipientState.Queued, rows[0].State);
        Assert.Equal(0, rows[0].Attempts);
        Assert.Null(rows[0].LastOutcome);
        Assert.Equal(RecipientState.Deferred, rows[1].State);
        Assert.Equal(1, rows[1].Attempts);
        Assert.Equal(next, rows[1].NextAttemptAt);
        Assert.Equal("4.4.1 try later", rows[1].LastError);
        Assert.Equal(TestOutcomes.Deferred("4.4.1 try later"), rows[1].LastOutcome);

        await Queue.UpdateRecipientAsync(e.Id, 1, TestOutcomes.Delivered(), next, Clock);
        (_, rows) = Queue.Load(e.Id)!.Value;
        Assert.Equal(RecipientState.Delivered, rows[1].State);
        Assert.Equal(2, rows[1].Attempts);
        Assert.Null(rows[1].LastError);
    }

    [Fact]
    public async Task TheLastOutcomeIsKeptInColumnsAndLoadsBackWhole()
    {
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock);
        var wait = TestOutcomes.TlsWait();
        await Queue.UpdateRecipientAsync(e.Id, 0, wait, Clock.GetUtcNow().AddHours(1), Clock);
        await Queue.UpdateRecipientAsync(e.Id, 1, TestOutcomes.DnsDeferred() with { RequiredTls = null, ReplyCode = null }, Clock.GetUtcNow().AddHours(1), Clock);

        var (_, rows) = Queue.Load(e.Id)!.Value;
        Assert.Equal(wait, rows[0].LastOutcome);
        Assert.True(rows[0].LastOutcome!.IsTlsWait);
        Assert.Equal("mx.dest.test[192.0.2.1]", rows[0].LastOutcome!.HostTried);
        Assert.Equal(TestOutcomes.DnsDeferred() with { ReplyCode = null }, rows[1].LastOutcome);

        using var c = Queue.OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT last_reason, last_status, last_code, last_tls_level, last_tls_source, last_host, last_address, last_error FROM recipients WHERE idx = 0";
        using var r = cmd.ExecuteReader();
        Assert.True(r.Read());
        Assert.Equal(("tls-requirement", "4.7.4", 451L, "encrypt", "sender", "mx.dest.test", "192.0.2.1", wait.Text),
            (r.GetString(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(6), r.GetString(7)));
    }

    [Fact]
    public async Task DueIdsAreOldestFirstAndExcludeFinalAndFutureRecipients()
    {
        var (ids, now) = await QueueWithDueAndNotDueMessagesAsync();
        Assert.Equal([ids[1], ids[3]], Queue.DueMessageIds(now, 100));
        Assert.Equal([ids[1]], Queue.DueMessageIds(now, 1));
        Assert.Equal([ids[1], ids[2], ids[3]], Queue.DueMessageIds(now.AddMinutes(10), 100));
    }

    [Fact]
    public async Task SomeDueIdsAreTheDueMessagesUpToTheLimitAndExcludeFinalAndFutureRecipients()
    {
        var (ids, now) = await QueueWithDueAndNotDueMessagesAsync();
        Assert.Equal([ids[1], ids[3]], Queue.SomeDueMessageIds(now, 100).Order());
        Assert.Single(Queue.SomeDueMessageIds(now, 1), id => id == ids[1] || id == ids[3]);
        Assert.Equal([ids[1], ids[2], ids[3]], Queue.SomeDueMessageIds(now.AddMinutes(10), 100).Order());
    }

    private async Task<(List<string> Ids, DateTimeOffset Now)> QueueWithDueAndNotDueMessagesAsync()
    {
        var ids = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            var e = NewEnvelope();
            await Queue.InsertAsync(e, null, Clock);
            ids.Add(e.Id);
            Clock.Advance(TimeSpan.FromSeconds(1));
        }
        var now = Clock.GetUtcNow();
        // ids[0]: both delivered -> not due. ids[1]: one deferred to the future, one queued -> due.
        // ids[2]: both deferred to the future -> not due. ids[3]: queued -> due.
        await Queue.UpdateRecipientAsync(ids[0], 0, TestOutcomes.Delivered(), now, Clock);
        await Queue.UpdateRecipientAsync(ids[0], 1, TestOutcomes.Failed(), now, Clock);
        await Queue.UpdateRecipientAsync(ids[1], 0, TestOutcomes.Deferred(), now.AddHours(1), Clock);
        await Queue.UpdateRecipientAsync(ids[2], 0, TestOutcomes.Deferred(), now.AddMinutes(10), Clock);
        await Queue.UpdateRecipientAsync(ids[2], 1, TestOutcomes.Deferred(), now.AddMinutes(20), Clock);
        return (ids, now);
    }

    [Fact]
    public async Task DueIdsAreSortedByIdNotByInsertOrder()
    {
        // Two generators (two nodes): one process's ids never go back in time, whatever its clock says.
        var later = NewEnvelope(id: new MessageIdGenerator(1).Next(new FakeTimeProvider(Clock.GetUtcNow().AddSeconds(5))));
        var earlier = NewEnvelope(id: new MessageIdGenerator(2).Next(Clock));
        await Queue.InsertAsync(later, null, Clock);
        await Queue.InsertAsync(earlier, null, Clock);
        Assert.Equal([earlier.Id, later.Id], Queue.DueMessageIds(Clock.GetUtcNow(), 10));
    }

    [Fact]
    public async Task PendingSummaryCountsWaitingRecipientsByStateAndReasonWithTheOldestReceiptTime()
    {
        Assert.Empty(Queue.PendingSummary());
        var first = NewEnvelope();
        await Queue.InsertAsync(first, null, Clock);
        Clock.Advance(TimeSpan.FromMinutes(10));
        var second = NewEnvelope();
        await Queue.InsertAsync(second, null, Clock);
        var now = Clock.GetUtcNow();
        await Queue.UpdateRecipientAsync(first.Id, 0, TestOutcomes.DnsDeferred(), now, Clock);
        await Queue.UpdateRecipientAsync(first.Id, 1, TestOutcomes.Delivered(), now, Clock); // final: not waiting
        await Queue.UpdateRecipientAsync(second.Id, 0, TestOutcomes.DnsDeferred(), now, Clock);

        var rows = Queue.PendingSummary().OrderBy(r => r.State).ToList();
        Assert.Equal(2, rows.Count);
        Assert.Equal((RecipientState.Queued, (string?)null, 1L, second.ReceivedAt), rows[0]);
        Assert.Equal((RecipientState.Deferred, (string?)"dns", 2L, first.ReceivedAt), rows[1]);
    }

    [Fact]
    public async Task NextDueTimeIsTheEarliestPendingAttempt()
    {
        Assert.Null(Queue.NextDueTime());
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock);
        var now = Clock.GetUtcNow();
        await Queue.UpdateRecipientAsync(e.Id, 0, TestOutcomes.Deferred(), now.AddMinutes(30), Clock);
        await Queue.UpdateRecipientAsync(e.Id, 1, TestOutcomes.Deferred(), now.AddMinutes(5), Clock);
        Assert.Equal(now.AddMinutes(5), Queue.NextDueTime());
        await Queue.UpdateRecipientAsync(e.Id, 1, TestOutcomes.Delivered(), now, Clock);
        Assert.Equal(now.AddMinutes(30), Queue.NextDueTime());
    }

    [Fact]
    public async Task RemoveDeletesMessageAndRecipients()
    {
        var keep = NewEnvelope();
        var gone = NewEnvelope();
        await Queue.InsertAsync(keep, null, Clock);
        await Queue.InsertAsync(gone, null, Clock);
        await Spool.RemoveAsync(gone.Id);
        Assert.Null(Queue.Load(gone.Id));
        Assert.NotNull(Queue.Load(keep.Id));
        Assert.Equal(new HashSet<string> { keep.Id }, Queue.AllMessageIds());
        Assert.Equal([keep.Id], Queue.DueMessageIds(Clock.GetUtcNow(), 10));
    }

    [Fact]
    public async Task ConcurrentInsertsAreAllCommitted()
    {
        var envelopes = Enumerable.Range(0, 50).Select(_ => NewEnvelope()).ToList();
        await Task.WhenAll(envelopes.Select(e => Task.Run(() => Queue.InsertAsync(e, null, Clock))));
        Assert.Equal(envelopes.Select(e => e.Id).ToHashSet(), Queue.AllMessageIds());
        Assert.Equal(50, Queue.CommittedOps);
        Assert.True(Queue.Commits <= 50);
    }

    [Fact]
    public async Task OneFailingInsertDoesNotFailItsBatchNeighbours()
    {
        var first = NewEnvelope();
        await Queue.InsertAsync(first, null, Clock);
        var others = Enumerable.Range(0, 20).Select(_ => NewEnvelope()).ToList();
        var tasks = others.Select(e => Queue.InsertAsync(e, null, Clock)).Append(Queue.InsertAsync(first, null, Clock)).ToList();
        await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(tasks));
        Assert.Equal(20, tasks.Count(t => t.IsCompletedSuccessfully));
        Assert.All(others, e => Assert.NotNull(Queue.Load(e.Id)));
    }

    [Fact]
    public async Task QueueSurvivesReopen()
    {
        var e = NewEnvelope();
        await Queue.InsertAsync(e, null, Clock);
        using var again = new QueueDatabase(Path.Combine(Spool.Root, "queue.db"), Spool.DataDirectory, NullLogger.Instance);
        Assert.NotNull(again.Load(e.Id));
    }

    [Fact]
    public async Task RecoverDeletesIncomingFilesAndDataFilesWithoutEnvelope()
    {
        var e = NewEnvelope();
        await File.WriteAllTextAsync(Spool.DataPath(e.Id), "committed", TestContext.Current.CancellationToken);
        await Queue.InsertAsync(e, null, Clock);
        var orphan = MessageId.New(Clock);
        await File.WriteAllTextAsync(Spool.DataPath(orphan), "never acknowledged", TestContext.Current.CancellationToken);

        await File.WriteAllTextAsync(Spool.IncomingPath(MessageId.New(Clock)), "cut off mid-transfer", TestContext.Current.CancellationToken);
        Assert.Equal(2, Spool.Recover());
        Assert.Empty(Directory.GetFiles(Spool.IncomingDirectory));
        Assert.True(File.Exists(Spool.DataPath(e.Id)));
        Assert.False(File.Exists(Spool.DataPath(orphan)));
    }


    private async Task<Envelope> AcceptAsync(int size)
    {
        var e = NewEnvelope();
        await _test.AcceptAsync(e, new byte[size]);
        return e;
    }

    [Fact]
    public async Task AnAcceptedMessageIsCommittedSyncedAndWhatItsDeliveryWritesBackIsNot()
    {
        var e = await AcceptAsync(4096);
        Assert.Equal((1L, 0L), (Queue.Commits, Queue.UnsyncedCommits));

        await Queue.UpdateRecipientsAsync(e.Id, [new RecipientUpdate(1, TestOutcomes.Delivered(), Clock.GetUtcNow())], Clock, synced: false);
        Assert.Equal((2L, 1L), (Queue.Commits, Queue.UnsyncedCommits));
        await Spool.RemoveAsync(e.Id, synced: false);
        Assert.Equal((3L, 2L), (Queue.Commits, Queue.UnsyncedCommits));

        // The next message accepted is synced again (and with it the write-ahead log the removal is in).
        var next = await AcceptAsync(4096);
        Assert.Equal((4L, 2L), (Queue.Commits, Queue.UnsyncedCommits));

        // Committed all the same: a new connection (another process, a restart) sees them.
        Spool.Dispose();
        using var reopened = new MessageSpool(Spool.Root, Clock, NullLogger.Instance);
        Assert.Null(reopened.Queue.Load(e.Id));
        Assert.NotNull(reopened.Queue.Load(next.Id));
        using (var c = reopened.Queue.OpenRead()) SqliteConnection.ClearPool(c);
    }

    [Fact]
    public async Task AMessageWithADataFileIsRemovedSyncedSinceItsFileGoesRightAfter()
    {
        var e = await AcceptAsync(300 * 1024);
        Assert.True(File.Exists(Spool.DataPath(e.Id)));

        await Spool.RemoveAsync(e.Id, synced: false);

        Assert.Equal((2L, 0L), (Queue.Commits, Queue.UnsyncedCommits));
        Assert.False(File.Exists(Spool.DataPath(e.Id)));
    }

    [Fact]
    public async Task AnOperatorsRemovalIsSynced()
    {
        var e = await AcceptAsync(4096);
        await Spool.RemoveAsync(e.Id); // queue delete, queue bounce
        Assert.Equal((2L, 0L), (Queue.Commits, Queue.UnsyncedCommits));
    }

    [Theory]
    [InlineData(0, true)]
    [InlineData(4096, true)]
    [InlineData(256 * 1024, true)]
    [InlineData(256 * 1024 + 1, false)]
    [InlineData(3 * 1024 * 1024, false)]
    public async Task SmallMessagesAreCommittedInsideTheDatabaseAndLargeOnesAsDataFiles(int size, bool inline)
    {
        var content = new byte[size];
        new Random(size).NextBytes(content);
        var e = NewEnvelope();
        await using (var file = await ReceiveAsync(e.Id, content))
        {
            await Spool.CommitAsync(e, file);
            file.MarkCommitted();
        }
        Assert.Empty(Directory.GetFiles(Spool.IncomingDirectory));
        Assert.Equal(!inline, File.Exists(Spool.DataPath(e.Id)));
        using (var data = Spool.OpenData(e.Id))
        using (var copy = new MemoryStream())
        {
            await data.CopyToAsync(copy, TestContext.Current.CancellationToken);
            Assert.Equal(content, copy.ToArray());
        }

        await Spool.RemoveAsync(e.Id);
        Assert.Null(Queue.OpenInlineData(e.Id));
        Assert.Throws<FileNotFoundException>(() => Spool.OpenData(e.Id));
    }

    [Fact]
    public async Task UncommittedTransferLeavesNothingBehind()
    {
        var small = await ReceiveAsync(MessageId.New(Clock), new byte[100]);
        var large = await ReceiveAsync(MessageId.New(Clock), new byte[MessageSpool.InlineLimit + 10]);
        await small.DisposeAsync();
        await large.DisposeAsync();
        Assert.Empty(Directory.GetFiles(Spool.IncomingDirectory));
        Assert.Empty(Directory.GetFiles(Spool.DataDirectory));
    }
}
