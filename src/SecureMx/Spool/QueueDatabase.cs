using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Spool;

/// <summary>What one delivery attempt did for one recipient (by its index in the envelope), and when to try it next.</summary>
/// <param name="Attempts">The attempts this update records: more than one when earlier outcomes could not be written (a full disk).</param>
public sealed record RecipientUpdate(int Index, DeliveryOutcome Outcome, DateTimeOffset NextAttemptAt, bool DelayWarned = false, int Attempts = 1);

/// <summary>A recipient row as the queue runner and the CLI see it.</summary>
/// <param name="LastOutcome">What the last attempt did; null before the first.</param>
public sealed record QueuedRecipient(
    string MessageId, int Index, EnvelopeRecipient Recipient, RecipientState State,
    int Attempts, DateTimeOffset NextAttemptAt, DeliveryOutcome? LastOutcome, bool DelayWarned = false)
{
    /// <summary>The last attempt's text when it did not deliver (what the queue list shows as "last").</summary>
    public string? LastError => State == RecipientState.Delivered ? null : LastOutcome?.Text;
}

/// <summary>
/// The queue index in SQLite (WAL, synchronous=FULL: a commit is on disk when it returns).
/// Every write goes through one writer thread that commits whatever has piled up in a single
/// transaction: concurrent SMTP sessions share one directory fsync and one WAL fsync (group commit).
/// <para>
/// A batch of only what the queue runner writes after a delivery (outcomes, the removal of a delivered
/// message) is committed without its fsync (synchronous=NORMAL for that commit): should a power failure
/// undo it, the recipient is tried again — a duplicate, never a loss, as when Postfix's queue manager
/// unlinks a delivered queue file without syncing its directory. A process crash loses none of it (the
/// write-ahead log is in the kernel's cache), and the next synced commit (the next message accepted, a
/// checkpoint) makes it durable with the rest of the log. It spares one fsync per delivered message,
/// which a single session waits for behind its own commit.
/// </para>
/// </summary>
public sealed class QueueDatabase : IDisposable
{
    private readonly string _connectionString;
    private readonly string _dataDirectory;
    private readonly DurableFiles _files;
    private readonly ILogger _logger;
    private readonly QueueWriteBacklog<WriteOp> _writes = new();
    private readonly Thread? _writer;
    private readonly SqliteConnection? _writeConnection;
    private readonly QueueWriterStatements? _statements; // the writer thread's prepared statements on _writeConnection
    private readonly ReadOnlyAccess? _readOnly; // OpenForReading: with the fallback on a full disk
    private readonly SqliteReaderPool _readers; // open read connections with their statements prepared

    public long Commits { get; private set; }
    public long CommittedOps { get; private set; }

    /// <summary>Commits of <see cref="Commits"/> made without an fsync (only delivery outcomes and removals in them).</summary>
    public long UnsyncedCommits { get; private set; }

    private long _loads;

    /// <summary>Messages read by <see cref="Load"/> so far (the queue runner reads each due message once per delivery run).</summary>
    public long Loads => Interlocked.Read(ref _loads);

    /// <param name="Synced">The commit must be on disk when it returns (a message accepted: its 250 says so).</param>
    /// <param name="ContinueOnWriter">
    /// Its waiter asked to continue on the writer thread when its commit is a lone one (<see cref="Complete"/>): it
    /// promises a continuation that is short and never blocks, and leaves the thread before anything else
    /// (an SMTP session: its reply, then it waits for the next command).
    /// </param>
    private sealed record WriteOp(Action<SqliteConnection, SqliteTransaction> Apply, bool NeedsDirectorySync, bool Synced, bool ContinueOnWriter, TaskCompletionSource Done);

    /// <summary>The writer connection's PRAGMA synchronous: FULL unless the last batch needed no fsync.</summary>
    private bool _synchronousFull = true;

    /// <summary>The database file (where a failed commit is reported).</summary>
    public string DatabasePath { get; }

    public QueueDatabase(string path, string dataDirectory, ILogger logger, DurableFiles? files = null)
    {
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30 }.ToString();
        _readers = new SqliteReaderPool(OpenRead);
        DatabasePath = path;
        _dataDirectory = dataDirectory;
        _files = files ?? DurableFiles.Default;
        _logger = logger;
        _writeConnection = new SqliteConnection(_connectionString);
        try
        {
            _writeConnection.Open();
            // synchronous=FULL: a commit is durable when it returns. The WAL is trimmed after checkpoints.
            Exec(_writeConnection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA journal_size_limit=67108864;");
            QueueSchema.Migrate(_writeConnection);
            _statements = new QueueWriterStatements(_writeConnection);
        }
        catch
        {
            // A queue that cannot be opened or migrated (a full disk, a locked file): no connection left behind.
            _writeConnection.Dispose();
            throw;
        }
        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "queue-writer" };
        _writer.Start();
    }

    private QueueDatabase(string path, string dataDirectory, ILogger logger, bool readOnly)
    {
        if (!readOnly) throw new ArgumentException("the read-write queue has its own constructor", nameof(readOnly));
        _connectionString = new SqliteConnectionStringBuilder { DataSource = path, Pooling = true, DefaultTimeout = 30, Mode = SqliteOpenMode.ReadOnly }.ToString();
        _readOnly = new ReadOnlyAccess(path, _connectionString);
        _readers = new SqliteReaderPool(OpenRead);
        DatabasePath = path;
        _dataDirectory = dataDirectory;
        _files = DurableFiles.Default;
        _logger = logger;
        _writes.Complete();
    }

    /// <summary>
    /// The queue for a command that only reads (`queue list`, `queue show`): no writer, no migration,
    /// read-only connections — so that it works on a full disk, where a read-write open fails. A
    /// read-only connection still needs the shared-memory index (<c>-shm</c>): when it is there (a
    /// running or killed server) it is used, write-ahead log included; when SQLite cannot create it
    /// (a full disk) and the write-ahead log is empty or gone (every change is in the database file),
    /// the database is read <c>immutable</c>, from its file alone. Writing through it throws.
    /// A queue whose schema is older than this program, or none at all, is opened for writing, which
    /// migrates or makes it; one a newer program wrote is refused (<see cref="QueueSchema.RefuseNewer"/>).
    /// </summary>
    public static QueueDatabase OpenForReading(string path, string dataDirectory, ILogger logger)
    {
        // No queue yet (no server has run, nothing was sent): made as by any other command, empty.
        if (!File.Exists(path)) return new QueueDatabase(path, dataDirectory, logger, files: null);
        var db = new QueueDatabase(path, dataDirectory, logger, readOnly: true);
        int version;
        using (var c = db.OpenRead())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "PRAGMA user_version";
            version = Convert.ToInt32(cmd.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }
        if (version == QueueSchema.Version) return db;
        db.Dispose();
        QueueSchema.RefuseNewer(version, path);
        return new QueueDatabase(path, dataDirectory, logger, files: null);
    }

    /// <summary>Whether this queue was opened by <see cref="OpenForReading"/>.</summary>
    public bool IsReadOnly => _writer is null;

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public SqliteConnection OpenRead()
    {
        if (_readOnly is not null) return _readOnly.Open();
        // Busy waits are handled by Microsoft.Data.Sqlite itself, up to DefaultTimeout.
        return SqliteLibrary.Open(_connectionString);
    }

    private Task Submit(Action<SqliteConnection, SqliteTransaction> apply, bool needsDirectorySync, bool synced = true, bool continueOnWriter = false)
    {
        var op = new WriteOp(apply, needsDirectorySync, synced, continueOnWriter,
            new TaskCompletionSource(continueOnWriter ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_writes.TryAdd(op))
        {
            return Task.FromException(_writer is null
                ? new InvalidOperationException("the queue was opened for reading only")
                : new ObjectDisposedException(nameof(QueueDatabase), "the queue is shutting down"));
        }
        return op.Done.Task;
    }

    private void WriterLoop()
    {
        var batch = new List<WriteOp>(256);
        while (true)
        {
            batch.Clear();
            if (!_writes.TakeBatch(batch, 512)) break; // completed and drained
            SyncDataDirectory(batch);
            if (batch.Count == 0) continue;
            bool synced = batch.Exists(op => op.Synced);
            try
            {
                Synchronous(synced);
                using (var tx = _writeConnection!.BeginTransaction())
                {
                    foreach (var op in batch) op.Apply(_writeConnection, tx);
                    _files.Commit(tx, DatabasePath);
                }
                Commits++;
                CommittedOps += batch.Count;
                if (!synced) UnsyncedCommits++;
                Telemetry.SecureMxMetrics.QueueCommits.Add(1, new KeyValuePair<string, object?>("synced", synced ? "true" : "false"));
                Telemetry.SecureMxMetrics.QueueCommittedOperations.Add(batch.Count);
                foreach (var op in batch) Complete(op, lone: batch.Count == 1);
            }
            catch (Exception ex) when (batch.Count > 1)
            {
                // One bad operation must not fail its neighbours: retry them one by one. Each operation's
                // failure is reported by whoever awaits it (the acceptor, the queue runner): here only at
                // Debug, so that a full disk is not logged twice, with two stack traces, per operation.
                _logger.LogDebug(ex, "queue batch of {Count} failed, retrying individually", batch.Count);
                foreach (var op in batch) ApplySingle(op);
            }
            catch (Exception ex)
            {
                _logger.LogDebug(ex, "queue write failed"); // reported by the operation's caller
                foreach (var op in batch) Complete(op, lone: batch.Count == 1, ex);
            }
        }
    }

    /// <summary>Sets the writer connection's PRAGMA synchronous for the next commit (outside a transaction; only when it changes).</summary>
    private void Synchronous(bool full)
    {
        if (full == _synchronousFull) return;
        Exec(_writeConnection!, full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;");
        _synchronousFull = full;
    }

    /// <summary>
    /// The data files of the batch were fsync'd by their writers; their directory entries become durable
    /// here, with one fsync for all. When it fails, none of them may be committed (their 250 would not
    /// mean durable): they fail and leave the batch. Nor is the fsync tried again for them: after a
    /// failed fsync(2) a later one can succeed although the earlier entries never reached the disk.
    /// </summary>
    private void SyncDataDirectory(List<WriteOp> batch)
    {
        if (!batch.Any(b => b.NeedsDirectorySync)) return;
        try
        {
            _files.SyncDirectory(_dataDirectory);
        }
        catch (DurableStepException ex)
        {
            _logger.LogError("{Error}: {Count} message(s) with data files not committed", ex.Message, batch.Count(b => b.NeedsDirectorySync));
            foreach (var op in batch.Where(b => b.NeedsDirectorySync)) Complete(op, lone: false, ex);
            batch.RemoveAll(b => b.NeedsDirectorySync);
        }
    }

    /// <summary>One operation of a failed batch on its own; the batch's directory fsync has succeeded and covers it.</summary>
    private void ApplySingle(WriteOp op)
    {
        try
        {
            Synchronous(op.Synced);
            using var tx = _writeConnection!.BeginTransaction();
            op.Apply(_writeConnection, tx);
            _files.Commit(tx, DatabasePath);
            Complete(op, lone: false);
        }
        catch (Exception ex)
        {
            _logger.LogDebug(ex, "queue write failed"); // reported by the operation's caller
            Complete(op, lone: false, ex);
        }
    }

    /// <summary>
    /// Tells an operation's waiter how it went. A waiter that asked for it (<see cref="WriteOp.ContinueOnWriter"/>)
    /// and is alone in its commit continues here, on the writer thread: one hand-off to the thread pool less
    /// (a wake-up and two context switches, at one session a tenth of a message's). Waiters of a batch, and
    /// all others, continue on the pool: side by side, and never holding the next commit up.
    /// </summary>
    private static void Complete(WriteOp op, bool lone, Exception? error = null)
    {
        if (op.ContinueOnWriter && !lone)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static s => SetOutcome(s.op, s.error), (op, error), preferLocal: false);
            return;
        }
        SetOutcome(op, error);

        static void SetOutcome(WriteOp op, Exception? error)
        {
            if (error is null) op.Done.TrySetResult();
            else op.Done.TrySetException(error);
        }
    }

    /// <summary>
    /// Makes an accepted message durable. Returns when the envelope is committed: then 250 may be sent.
    /// With <paramref name="inlineSource"/> the message bytes are copied from that file into the
    /// database in the same transaction; without, they are in a data file whose directory entry is
    /// fsync'd before the commit.
    /// <para><paramref name="continueOnWriter"/>: see <see cref="WriteOp"/>.</para>
    /// </summary>
    public Task InsertAsync(Envelope e, string? inlineSource, TimeProvider time, bool continueOnWriter = false) => Submit((c, tx) =>
    {
        long? dataId = inlineSource is null ? null : InsertInlineData(c, tx, inlineSource);
        _statements!.InsertEnvelope(tx, e, dataId, time.GetUtcNow().ToUnixTimeMilliseconds());
    }, needsDirectorySync: inlineSource is null, continueOnWriter: continueOnWriter);

    /// <summary>
    /// Makes an accepted message durable with its bytes taken from memory, in the same transaction as its
    /// envelope. <paramref name="bytes"/> must stay untouched until the returned task completes.
    /// </summary>
    internal Task InsertFromMemoryAsync(Envelope e, PooledMessageBuffer bytes, TimeProvider time, bool continueOnWriter = false) => Submit((c, tx) =>
    {
        var dataId = _statements!.InsertData(tx, bytes.Length);
        using (var blob = new SqliteBlob(c, "message_bytes", "data", dataId))
        {
            foreach (var segment in bytes.Segments) blob.Write(segment.Span);
        }
        _statements.InsertEnvelope(tx, e, dataId, time.GetUtcNow().ToUnixTimeMilliseconds());
    }, needsDirectorySync: false, continueOnWriter: continueOnWriter);

    /// <summary>The bytes of <paramref name="source"/> into <c>message_bytes</c>; their key.</summary>
    private long InsertInlineData(SqliteConnection c, SqliteTransaction tx, string source)
    {
        using var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 64 * 1024);
        var dataId = _statements!.InsertData(tx, file.Length);
        // Streamed into the blob: the message is never held whole in memory.
        using var blob = new SqliteBlob(c, "message_bytes", "data", dataId);
        file.CopyTo(blob);
        return dataId;
    }

    /// <summary>A reader with its prepared statements, for one read; the fault seam sees the read first.</summary>
    private SqliteReaderPool.Reader RentReader()
    {
        _files.BeforeQueueRead(DatabasePath);
        return _readers.Rent();
    }

    /// <summary>A read-only stream over a message kept in the database; null when there is none.</summary>
    public Stream? OpenInlineData(string id)
    {
        var reader = RentReader();
        try
        {
            // In message_bytes; or, queued before schema version 6, in message_data (QueueSchema).
            string? table = null;
            long key = 0;
            using (var r = reader.Statement("""
                SELECT data_id, CASE WHEN data_id IS NULL THEN (SELECT rowid FROM message_data WHERE id=$id) END FROM messages WHERE id=$id
                """, ("$id", id)).ExecuteReader())
            {
                if (r.Read())
                {
                    if (!r.IsDBNull(0)) (table, key) = ("message_bytes", r.GetInt64(0));
                    else if (!r.IsDBNull(1)) (table, key) = ("message_data", r.GetInt64(1));
                }
            }
            if (table is null)
            {
                reader.Dispose();
                return null;
            }
            return new OwningStream(new SqliteBlob(reader.Connection, table, "data", key, readOnly: true), reader);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
    }

    /// <summary>Records the outcome of one delivery attempt for one recipient.</summary>
    public Task UpdateRecipientAsync(string messageId, int index, DeliveryOutcome outcome, DateTimeOffset nextAttempt, TimeProvider time) =>
        UpdateRecipientsAsync(messageId, [new RecipientUpdate(index, outcome, nextAttempt)], time);

    /// <summary>
    /// Records the outcome of one delivery attempt for each of several recipients of a message, in one commit.
    /// Not <paramref name="synced"/>: the commit may return before it is on disk (see the class: a power
    /// failure may undo it, and the recipients are tried again).
    /// </summary>
    public Task UpdateRecipientsAsync(string messageId, IReadOnlyList<RecipientUpdate> updates, TimeProvider time, bool synced = true) =>
        Submit((_, tx) => _statements!.UpdateRecipients(tx, messageId, updates, time.GetUtcNow().ToUnixTimeMilliseconds()), needsDirectorySync: false, synced);

    /// <summary>Removes a message's rows in one commit; <see cref="MessageSpool.RemoveAsync"/> deletes its data file afterwards.</summary>
    internal Task RemoveMessageAsync(string messageId, bool synced) =>
        Submit((_, tx) => _statements!.RemoveMessage(tx, messageId), needsDirectorySync: false, synced);

    private const string LoadEnvelopeSql = "SELECT received_at, sender, size, body, smtputf8, ret, envid, listener, client_ip, client_helo, protocol, tls_protocol, tls_cipher, account, requiretls, auth_results FROM messages WHERE id=$id";
    private static readonly string LoadRecipientsSql = $"SELECT idx, address, original, route, maildir, notify, orcpt_type, orcpt, state, attempts, next_attempt_at, delay_warned, {StoredOutcome.Columns} FROM recipients WHERE message_id=$id ORDER BY idx";

    /// <summary>Loads a message's envelope and all its recipient rows; null when it is gone.</summary>
    public (Envelope Envelope, List<QueuedRecipient> Recipients)? Load(string messageId)
    {
        Interlocked.Increment(ref _loads);
        using var reader = RentReader();
        Envelope? env;
        using (var r = reader.Statement(LoadEnvelopeSql, ("$id", messageId)).ExecuteReader())
        {
            if (!r.Read()) return null;
            var tls = r.IsDBNull(11) ? null : new NegotiatedTls(r.GetString(11), r.GetString(12));
            env = new Envelope(
                messageId,
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(0)),
                r.GetString(1),
                r.GetInt64(2),
                new MailParameters(null, Enum.Parse<BodyType>(r.GetString(3)), r.GetInt32(4) == 1,
                    r.IsDBNull(5) ? DsnReturn.Unspecified : Enum.Parse<DsnReturn>(r.GetString(5)),
                    r.IsDBNull(6) ? null : r.GetString(6), RequireTls: r.GetInt32(14) == 1),
                new ClientTrace(r.GetString(7), r.GetString(8), r.GetString(9), r.GetString(10), tls, r.IsDBNull(13) ? null : r.GetString(13)),
                [])
            {
                AuthenticationResults = r.IsDBNull(15) ? null : r.GetString(15),
            };
        }
        var list = new List<QueuedRecipient>();
        using (var r = reader.Statement(LoadRecipientsSql, ("$id", messageId)).ExecuteReader())
        {
            while (r.Read())
            {
                var rec = new EnvelopeRecipient(r.GetString(1), r.GetString(2), Enum.Parse<RecipientRoute>(r.GetString(3)),
                    r.IsDBNull(4) ? null : r.GetString(4), (DsnNotify)r.GetInt32(5),
                    r.IsDBNull(6) ? null : r.GetString(6), r.IsDBNull(7) ? null : r.GetString(7));
                var state = Enum.Parse<RecipientState>(r.GetString(8));
                list.Add(new QueuedRecipient(messageId, r.GetInt32(0), rec, state,
                    r.GetInt32(9), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(10)), StoredOutcome.Read(r, 12, state), r.GetInt32(11) == 1));
            }
        }
        return (env with { Recipients = list.Select(q => q.Recipient).ToList() }, list);
    }

    /// <summary>Ids of messages with at least one recipient due for an attempt at <paramref name="now"/>, oldest first.</summary>
    public List<string> DueMessageIds(DateTimeOffset now, int limit)
    {
        using var reader = RentReader();
        var ids = new List<string>();
        using var r = reader.Statement("""
            SELECT DISTINCT message_id FROM recipients
            WHERE state IN ('Queued','Deferred') AND next_attempt_at <= $now
            ORDER BY message_id LIMIT $limit
            """, ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>
    /// Up to <paramref name="limit"/> ids of messages with a recipient due at <paramref name="now"/>, in the
    /// order of the due index (by state, then earliest due first), reading no more of it than it returns: the
    /// scheduler's look costs the same with a large backlog. <see cref="DueMessageIds"/> (oldest id first)
    /// sorts every due row for that order: 88 ms with 200 000 due, at every look (each 200 ms while any are due).
    /// </summary>
    public List<string> SomeDueMessageIds(DateTimeOffset now, int limit)
    {
        using var reader = RentReader();
        var ids = new List<string>();
        using var r = reader.Statement("""
            SELECT DISTINCT message_id FROM recipients INDEXED BY recipients_due
            WHERE state IN ('Queued','Deferred') AND next_attempt_at <= $now
            LIMIT $limit
            """, ("$now", now.ToUnixTimeMilliseconds()), ("$limit", limit)).ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    /// <summary>The earliest next-attempt time among pending recipients, if any.</summary>
    public DateTimeOffset? NextDueTime()
    {
        using var reader = RentReader();
        var v = reader.Statement("SELECT MIN(next_attempt_at) FROM recipients WHERE state IN ('Queued','Deferred')").ExecuteScalar();
        return v is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>
    /// Pending recipients counted by state and last outcome reason (null: never tried), with the
    /// receipt time of the oldest message in each group: one indexed aggregate, for the metrics'
    /// cached summary (never per scrape). <paramref name="busyTimeoutSeconds"/> bounds the wait for a busy database.
    /// </summary>
    public List<(RecipientState State, string? Reason, long Count, DateTimeOffset OldestReceivedAt)> PendingSummary(int busyTimeoutSeconds = 2)
    {
        using var c = OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandTimeout = busyTimeoutSeconds;
        cmd.CommandText = """
            SELECT r.state, r.last_reason, COUNT(*), MIN(m.received_at)
            FROM recipients r JOIN messages m ON m.id = r.message_id
            WHERE r.state IN ('Queued','Deferred')
            GROUP BY r.state, r.last_reason
            """;
        var rows = new List<(RecipientState, string?, long, DateTimeOffset)>();
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            rows.Add((Enum.Parse<RecipientState>(r.GetString(0)), r.IsDBNull(1) ? null : r.GetString(1), r.GetInt64(2),
                DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))));
        }
        return rows;
    }

    /// <summary>Every queued message with its recipients, oldest first (for `securemx queue list`).</summary>
    public List<(Envelope Envelope, List<QueuedRecipient> Recipients)> ListAll()
    {
        var list = new List<(Envelope, List<QueuedRecipient>)>();
        foreach (var id in AllMessageIds().Order(StringComparer.Ordinal))
        {
            if (Load(id) is { } m) list.Add(m);
        }
        return list;
    }

    /// <summary>
    /// The pending (queued or deferred) recipients, oldest message first, at most <paramref name="limit"/>,
    /// and how many messages have one: one query each, for the node's published queue summary.
    /// </summary>
    public (List<PendingRecipient> Rows, long Messages) PendingRecipients(int limit)
    {
        using var c = OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT r.message_id, r.idx, r.address, m.sender, m.received_at, m.size, r.state, r.attempts, r.next_attempt_at, r.last_error
            FROM recipients r JOIN messages m ON m.id = r.message_id
            WHERE r.state IN ('Queued','Deferred')
            ORDER BY r.message_id, r.idx LIMIT $limit
            """;
        cmd.Parameters.AddWithValue("$limit", limit);
        var rows = new List<PendingRecipient>();
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                rows.Add(new PendingRecipient(r.GetString(0), r.GetInt32(1), r.GetString(2), r.GetString(3), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(4)),
                    r.GetInt64(5), Enum.Parse<RecipientState>(r.GetString(6)), r.GetInt32(7), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(8)),
                    r.IsDBNull(9) ? null : r.GetString(9)));
            }
        }
        using var count = c.CreateCommand();
        count.CommandText = "SELECT COUNT(DISTINCT message_id) FROM recipients WHERE state IN ('Queued','Deferred')";
        return (rows, (long)count.ExecuteScalar()!);
    }

    /// <summary>Makes pending recipients due now (one message, or all when <paramref name="messageId"/> is null). Returns how many.</summary>
    public int RetryNow(string? messageId, DateTimeOffset now)
    {
        using var c = OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = """
            UPDATE recipients SET next_attempt_at=$now
            WHERE state IN ('Queued','Deferred') AND ($id IS NULL OR message_id=$id)
            """;
        cmd.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$id", (object?)messageId ?? DBNull.Value);
        return cmd.ExecuteNonQuery();
    }

    /// <summary>Whether the message is still queued (one indexed read, no rows loaded).</summary>
    public bool Contains(string messageId)
    {
        using var reader = RentReader();
        return reader.Statement("SELECT 1 FROM messages WHERE id=$id", ("$id", messageId)).ExecuteScalar() is not null;
    }

    /// <summary>All message ids in the queue (used to find orphaned data files at start-up).</summary>
    public HashSet<string> AllMessageIds()
    {
        using var c = OpenRead();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id FROM messages";
        var ids = new HashSet<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }

    public void Dispose()
    {
        _writes.Complete();
        _writer?.Join(TimeSpan.FromSeconds(30));
        _readers.Dispose();
        _statements?.Dispose();
        _writeConnection?.Dispose();
    }
}
