using System.Collections.Concurrent;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;
using SecureMx.Config;
using SecureMx.Delivery.Lmtp;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Queue;

/// <summary>
/// DNS answers for the queue tests, decided per query from the domain and the (fake) time of the
/// query; every MX query is recorded with its time, which makes it the witness of each delivery attempt.
/// </summary>
internal sealed class FakeMailDns(TimeProvider time, Func<string, DateTimeOffset, MxResolution> mx) : IMailDnsResolver
{
    private readonly ConcurrentQueue<(string Domain, DateTimeOffset At)> _mxQueries = new();

    /// <summary>SERVFAIL for every domain: every remote recipient is deferred with 4.4.3.</summary>
    public static MxResolution ServFail(string domain, DateTimeOffset at) => MxResolution.TemporaryFailure(domain, "SERVFAIL");

    /// <summary>NXDOMAIN for every domain: every remote recipient fails at once with 5.1.2.</summary>
    public static MxResolution NxDomain(string domain, DateTimeOffset at) => MxResolution.NoSuchDomain(domain, DnsSecurity.Insecure);

    /// <summary>Times of the MX queries so far, i.e. of the remote delivery attempts.</summary>
    public IReadOnlyList<DateTimeOffset> Attempts => _mxQueries.Select(q => q.At).ToList();

    /// <summary>The domains of the MX queries so far, in order.</summary>
    public IReadOnlyList<string> QueriedDomains => _mxQueries.Select(q => q.Domain).ToList();

    /// <summary>The address every MX host resolves to (used by the test whose delivery succeeds).</summary>
    public IPAddress HostAddress { get; set; } = IPAddress.Loopback;

    /// <summary>TLSA answers by host and port; unset, a TLSA query fails the test.</summary>
    public Func<string, int, TlsaResolution>? Tlsa { get; set; }

    /// <summary>When set, MX and TLSA queries answer only once it completes (a resolver that hangs).</summary>
    public Task? Hold { get; set; }

    public async Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        _mxQueries.Enqueue((domain, now));
        if (Hold is { } hold) await hold.WaitAsync(cancellationToken);
        return mx(domain, now);
    }

    public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) =>
        Task.FromResult(AddressResolution.Combine(host,
            DnsAnswer<IPAddress>.Found([HostAddress], DnsSecurity.Insecure), DnsAnswer<IPAddress>.NoData(DnsSecurity.Insecure)));

    public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => Task.FromResult(TxtResolution.NoRecords(name, DnsSecurity.Secure)); // no MTA-STS

    public async Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default)
    {
        if (Tlsa is null) throw new NotSupportedException("the queue tests do not look up TLSA records");
        if (Hold is { } hold) await hold.WaitAsync(cancellationToken);
        return Tlsa(host, port);
    }
}

/// <summary>Keeps every log line (for the message of a failed wait).</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<string> _lines;

    public RecordingLogger(ConcurrentQueue<string> lines) => _lines = lines;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _lines.Enqueue($"{logLevel}: {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
}

/// <summary>A DSN found in the sender's Maildir, parsed back with MimeKit.</summary>
internal sealed record ParsedDsn(string Path, MimeMessage Message, HeaderList PerMessage, HeaderList Recipient)
{
    public string? Action => Recipient["Action"];
    public string? Status => Recipient["Status"];

    public DateTimeOffset? Date(string field) =>
        Recipient[field] is { } text && DateUtils.TryParse(text, out DateTimeOffset value) ? value : null;
}

/// <summary>
/// A <see cref="QueueRunner"/> wired as Hosting/ServerHost.cs wires it (store, spool, the Maildir
/// deliverer — or the LMTP deliverer when delivery.lmtp is configured — and the SMTP deliverer with
/// its connection cache), in a temp data directory, on a <see cref="SteppingTimeProvider"/> and a
/// <see cref="FakeMailDns"/>: no real DNS, no network. example.test is hosted with the mailbox alice,
/// so DSNs to alice@example.test land in her Maildir.
/// <para>
/// Time moves only through <see cref="RunUntilAsync"/>: from one timer to the next (the scheduler
/// waits with <c>Task.Delay(wait, TimeProvider)</c>, at most 5 s), and after each wake-up the harness
/// waits (real time, bounded) until the runner is idle again — the scheduler waiting on a new timer
/// and nothing due at the current time left in the queue (DSNs included: they are spooled before the
/// original's recipients are updated, and leave the queue once in the Maildir). Long stretches in
/// which nothing is due are crossed in one step (see <see cref="RunUntilAsync"/>).
/// </para>
/// </summary>
internal sealed class QueueRunnerHarness : IAsyncDisposable
{
    /// <summary>Arrival time of the test messages: on a whole second, so that RFC 5322 dates compare exactly.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    public const string Sender = "alice@example.test";
    public const string RemoteRecipient = "user@remote.test";

    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(10);

    private readonly TempDirectory _dir = new();
    private readonly ConcurrentQueue<string> _log = new();
    private bool _stopped;

    public SteppingTimeProvider Clock { get; } = new(Start);
    public SecureMxOptions Options { get; }
    public TestStore Store { get; }
    public MessageSpool Spool { get; }
    public FakeMailDns Dns { get; }
    public SmtpConnectionCache Connections { get; }
    public RemoteDelivery Remote { get; }
    public QueueRunner Runner { get; }
    public string DataDirectory => _dir.Path;
    /// <summary>Every line logged so far by the runner, its deliverers and the spool ("Level: message", then the exception with its stack trace).</summary>
    public IReadOnlyList<string> LogLines => _log.ToArray();

    public string SenderMaildir => Path.Combine(_dir.Path, MailboxRepository.MaildirFor("alice", "example.test"));

    private QueueRunnerHarness(Func<string, DateTimeOffset, MxResolution> mx, Action<SecureMxOptions>? configure, IStorageFaultInjector? faults,
        IMtaStsPolicySource? mtaSts)
    {
        Options = new SecureMxOptions { Hostname = "mx.example.test" };
        configure?.Invoke(Options);
        Store = new TestStore(Clock);
        Store.Mailboxes.AddDomain("example.test");
        Store.Mailboxes.AddMailbox("alice", "example.test", "x");
        Spool = new MessageSpool(Path.Combine(_dir.Path, "spool"), Clock, new RecordingLogger<MessageSpool>(_log), faults is null ? null : new DurableFiles(faults));
        Dns = new FakeMailDns(Clock, mx);
        Connections = new SmtpConnectionCache(TimeSpan.FromSeconds(5), Clock);
        var remote = Remote = new RemoteDelivery(Dns, Options, new RecordingLogger<RemoteDelivery>(_log), PkixTrust.SystemOnly, Connections, Clock, mtaSts: mtaSts);
        var log = new RecordingLogger<QueueRunner>(_log);
        IDeliverer local = new MaildirDeliverer(Spool, Options, _dir.Path, Clock, log);
        if (LmtpTarget.Parse(Options.Delivery.Lmtp) is { } lmtp)
        {
            // As Hosting/ServerHost.cs: hosted mailboxes through LMTP, the instance's postmaster Maildir still a Maildir.
            local = new LmtpDeliverer(Spool, new LmtpDelivery(lmtp, Options, () => null, new RecordingLogger<LmtpDelivery>(_log)), local, Options, Clock, log);
        }
        Runner = new QueueRunner(Spool, Store.DeliveryLog, new RecipientRouter(Store.Mailboxes, Options.Delivery),
            local,
            new SmtpDeliverer(Spool, remote, new OutboundTlsPolicy(Store.Policies, Options.Delivery), Options.Delivery, Clock, log),
            Options, Clock, log);
    }

    /// <summary>
    /// A harness whose MX lookups are answered by <paramref name="mx"/> (default: SERVFAIL). With
    /// <paramref name="start"/> the runner is running and idle (its scheduler waiting) on return. With
    /// <paramref name="faults"/> every durable step of the spool and of Maildir delivery goes through it.
    /// </summary>
    public static async Task<QueueRunnerHarness> CreateAsync(Func<string, DateTimeOffset, MxResolution>? mx = null,
        Action<SecureMxOptions>? configure = null, bool start = true, IStorageFaultInjector? faults = null, IMtaStsPolicySource? mtaSts = null)
    {
        var h = new QueueRunnerHarness(mx ?? FakeMailDns.ServFail, configure, faults, mtaSts);
        try
        {
            if (start) await h.StartAsync();
        }
        catch
        {
            await h.DisposeAsync();
            throw;
        }
        return h;
    }

    public async Task StartAsync()
    {
        await Runner.StartAsync(CancellationToken.None);
        await SettleAsync("the runner to start");
    }

    /// <summary>
    /// Queues a message the way <c>securemx sendmail</c> does (spool file, complete, commit, mark
    /// committed, dispose) and, when <paramref name="announce"/>, tells the runner about it and
    /// waits until its first attempt is over. The message has at least <paramref name="bodySize"/>
    /// bytes (above <see cref="MessageSpool.InlineLimit"/> it is kept as a data file).
    /// </summary>
    public Task<string> SendAsync(string sender = Sender, string recipient = RemoteRecipient, DsnNotify notify = DsnNotify.Unspecified,
        int bodySize = 0, bool announce = true) =>
        SendAsync([new EnvelopeRecipient(recipient, recipient, RecipientRoute.Remote, null, notify, null, null)], sender, bodySize, announce);

    /// <summary>A hosted mailbox of example.test as a recipient, routed to its Maildir.</summary>
    public static EnvelopeRecipient LocalRecipient(string local) =>
        new($"{local}@example.test", $"{local}@example.test", RecipientRoute.Local, MailboxRepository.MaildirFor(local, "example.test"), DsnNotify.Unspecified, null, null);

    /// <summary>As <see cref="SendAsync(string, string, DsnNotify, int, bool)"/>, to the given recipients (the first one in the To: header).</summary>
    public async Task<string> SendAsync(IReadOnlyList<EnvelopeRecipient> recipients, string sender = Sender, int bodySize = 0, bool announce = true)
    {
        var recipient = recipients[0].Address;
        var id = MessageId.New(Clock);
        var text = new System.Text.StringBuilder(
            $"From: Alice <{Sender}>\r\nTo: <{recipient}>\r\nSubject: queue test {id}\r\nMessage-ID: <{id}@example.test>\r\n\r\nHello.\r\n");
        while (text.Length < bodySize) text.Append(new string('x', 76)).Append("\r\n");
        await using (var file = new SpoolFile(Spool, id, 0))
        {
            file.Write(System.Text.Encoding.ASCII.GetBytes(text.ToString()));
            var envelope = new Envelope(id, Clock.GetUtcNow(), sender, file.Length,
                new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
                new ClientTrace("sendmail", "127.0.0.1", "localhost", "local", null, "tester"),
                recipients);
            await file.CompleteAsync();
            await Spool.CommitAsync(envelope, file);
            file.MarkCommitted();
        }
        if (announce)
        {
            Runner.MessageArrived(id);
            await SettleAsync($"the first attempt of {id}");
        }
        return id;
    }

    /// <summary>
    /// Moves the clock to <paramref name="target"/>, stopping at every timer on the way (the
    /// scheduler's wake-ups) and letting the runner finish what each wake-up started. Wake-ups while
    /// nothing in the queue is due only look and sleep again; those are merged into one (the timer
    /// fires late) up to <see cref="IdleMargin"/> before the next due time, from where the scheduler's
    /// own timers decide when the attempt happens.
    /// </summary>
    public async Task RunUntilAsync(DateTimeOffset target)
    {
        while (true)
        {
            var next = Clock.NextPending ?? throw new InvalidOperationException($"nothing waits on the clock at {Clock}:\n{Diagnostics()}");
            // Idle stretches are skipped: while nothing in the queue is due the scheduler only looks and
            // sleeps again (at most 5 s at a time), so its timer may as well fire late, shortly before
            // the next due time. The last IdleMargin before a due time (or the target) is run wake-up by wake-up.
            var due = Spool.Queue.NextDueTime();
            var horizon = (due is { } d && d < target ? d : target) - IdleMargin;
            var wake = next.Due < horizon ? horizon : next.Due;
            if (wake > target) break;
            // Off the test's thread: the scheduler's continuation may run inline in the timer callback.
            await Task.Run(() => Clock.MoveTo(wake));
            await SettleAsync($"the scheduler's wake-up at {Clock}");
        }
        if (target > Clock.GetUtcNow()) await Task.Run(() => Clock.MoveTo(target));
    }

    /// <summary>How long before a due time the clock stops skipping idle scheduler wake-ups (over two of its 5 s waits).</summary>
    private static readonly TimeSpan IdleMargin = TimeSpan.FromSeconds(12);

    public Task RunForAsync(TimeSpan span) => RunUntilAsync(Clock.GetUtcNow() + span);

    /// <summary>
    /// Waits until every timer due by now has fired, the scheduler waits on its next one (the only
    /// one-shot timer: <c>Task.Delay</c>; the connection cache's sweeper is periodic) and nothing due
    /// now is left in the queue.
    /// </summary>
    public async Task SettleAsync(string what)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!(Clock.PendingOneShotCount == 1
                 && !(Clock.NextPending is { } next && next.Due <= Clock.GetUtcNow())
                 && Spool.Queue.DueMessageIds(Clock.GetUtcNow(), 10).Count == 0
                 && SchedulerArmedForNextDueTime()))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}\n{Diagnostics()}");
            // A timer armed by another thread (the scheduler woken by a deferral) while the clock was being
            // moved can be left due in the past without having fired: moving the clock by zero fires it.
            if (Clock.NextPending is { } due && due.Due <= Clock.GetUtcNow()) await Task.Run(() => Clock.MoveTo(Clock.GetUtcNow()));
            await Task.Delay(1);
        }
    }

    /// <summary>
    /// The scheduler's timer is not later than the next due recipient (it waits at most until then, but
    /// at least 200 ms). Until a deferral's Kick has been handled, its timer may still be armed for a
    /// later look; moving the clock then would skip the retry.
    /// </summary>
    private bool SchedulerArmedForNextDueTime()
    {
        var due = Spool.Queue.NextDueTime();
        var armed = Clock.NextPending;
        if (due is null || armed is null) return true;
        var earliest = Clock.GetUtcNow() + TimeSpan.FromMilliseconds(200);
        return armed.Due <= (due.Value > earliest ? due.Value : earliest);
    }

    public async Task WaitUntilAsync(string what, Func<bool> condition)
    {
        if (condition()) return;
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}\n{Diagnostics()}");
            await Task.Delay(1);
        }
    }

    public string Diagnostics()
    {
        var queue = string.Join("\n", Spool.Queue.ListAll().SelectMany(m => m.Recipients.Select(r =>
            $"  {m.Envelope.Id} <{m.Envelope.Sender}> -> <{r.Recipient.Address}> {r.State} attempts={r.Attempts} next={r.NextAttemptAt:O} warned={r.DelayWarned} error={r.LastError}")));
        var timers = string.Join(", ", Clock.Pending.Select(t => $"#{t.Sequence} {t.Due:O}{(t.IsPeriodic ? " periodic" : "")}"));
        var attempts = string.Join(", ", Dns.Attempts.TakeLast(5).Select(a => a.ToString("O")));
        return $"clock={Clock} pending timers={Clock.PendingCount}, first due first: {timers}\nlast attempts (MX lookups): {attempts}\n"
               + $"queue:\n{queue}\nlog (last 40):\n  "
               + string.Join("\n  ", _log.TakeLast(40));
    }

    /// <summary>The one recipient of a queued message; null when the message has left the queue.</summary>
    public QueuedRecipient? Recipient(string id) => Spool.Queue.Load(id)?.Recipients.Single();

    /// <summary>Whether anything of the message's bytes is left in the spool (inline row or data file).</summary>
    public bool HasData(string id)
    {
        using var inline = Spool.Queue.OpenInlineData(id);
        return inline is not null || File.Exists(Spool.DataPath(id));
    }

    /// <summary>Every delivered file in any Maildir of the data directory.</summary>
    public string[] AllDeliveredFiles()
    {
        var mail = Path.Combine(_dir.Path, "mail");
        return Directory.Exists(mail)
            ? Directory.EnumerateFiles(mail, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(Path.GetDirectoryName(f)) is "new" or "cur").ToArray()
            : [];
    }

    /// <summary>The DSNs in alice's Maildir, oldest first, each checked for the trace headers and the report structure.</summary>
    public List<ParsedDsn> Dsns()
    {
        var dir = Path.Combine(SenderMaildir, "new");
        if (!Directory.Exists(dir)) return [];
        var list = new List<ParsedDsn>();
        foreach (var path in Directory.GetFiles(dir))
        {
            var message = MimeMessage.Load(path);
            // Our trace headers come first (Return-Path of the null sender, then Received), then the DSN's own.
            Assert.Equal(HeaderId.ReturnPath, message.Headers[0].Id);
            Assert.Equal("<>", message.Headers[0].Value.Trim());
            Assert.Equal(HeaderId.Received, message.Headers[1].Id);
            var report = Assert.IsType<MultipartReport>(message.Body);
            Assert.Equal("delivery-status", report.ReportType);
            var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
            Assert.Equal(2, status.StatusGroups.Count);
            list.Add(new ParsedDsn(path, message, status.StatusGroups[0], status.StatusGroups[1]));
        }
        return list.OrderBy(d => d.Message.Date).ThenBy(d => d.Path, StringComparer.Ordinal).ToList();
    }

    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        using var timeout = new CancellationTokenSource(WaitLimit);
        await Runner.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Runner.Dispose();
            await Connections.DisposeAsync();
            Spool.Dispose();
            using (var c = Spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
            Store.Dispose();
            _dir.Dispose();
        }
    }
}
