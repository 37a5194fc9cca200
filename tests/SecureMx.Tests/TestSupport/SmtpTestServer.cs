using System.Collections.Concurrent;
using System.Net;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Policy;
using SecureMx.Smtp;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Tests.TestSupport;

/// <summary>Remembers every message the sessions committed (stands in for the queue runner).</summary>
public sealed class RecordingArrivalSink : IMessageArrivalSink
{
    private readonly ConcurrentQueue<string> _ids = new();

    public IReadOnlyList<string> Ids => _ids.ToArray();

    public void MessageArrived(string messageId) => _ids.Enqueue(messageId);
}

/// <summary>
/// The inbound SMTP pieces wired the way Hosting/ServerHost.cs wires them, in a temp data directory,
/// listening on a free loopback port. There is no queue runner, so committed messages stay in the spool.
/// Hosted: example.org (alice, bob; alias sales -> alice, bob) and other.test (carol), every
/// mailbox with the password <see cref="Password"/>. With a fault injector every file-system step
/// of the spool goes past it (see <see cref="StorageFaultPlan"/>).
/// </summary>
public sealed class SmtpTestServer : IAsyncDisposable
{
    public const string Hostname = "mx.test";
    public const string Password = "password123";

    // The product's own certificate, as "securemx init" makes it for an MX (not a TestKit one): the
    // TLS tests negotiate its ECDHE-RSA suites. RSA key generation is slow; one serves every test.
    private static readonly Lazy<(string CertPem, string KeyPem)> Pem =
        new(() => CertificateFactory.CreateSelfSigned(Hostname, TimeProvider.System));

    // Every test starts from a copy of one populated store: fewer fsync'd transactions per test.
    private static readonly Lazy<string> TemplateDatabase = new(CreateTemplateDatabase);

    private static string CreateTemplateDatabase()
    {
        var dir = new TempDirectory();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => dir.Dispose();
        using var store = new TestStore(dir.Path, TimeProvider.System, StoreBackend.Sqlite);
        AddExampleAccounts(store, TemplatePasswordHash.Value);
        store.Database.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        return Path.Combine(dir.Path, StoreDatabase.FileName);
    }

    // One Argon2 hash for every server of the process: hashing costs ~0.1 s.
    private static readonly Lazy<string> TemplatePasswordHash = new(() => PasswordHash.Create(Password));

    private static void AddExampleAccounts(TestStore store, string hash)
    {
        store.Mailboxes.AddDomain("example.org");
        store.Mailboxes.AddMailbox("alice", "example.org", hash);
        store.Mailboxes.AddMailbox("bob", "example.org", hash);
        store.Mailboxes.AddAlias("sales@example.org", "example.org", "alice@example.org");
        store.Mailboxes.AddAlias("sales@example.org", "example.org", "bob@example.org");
        store.Mailboxes.AddDomain("other.test");
        store.Mailboxes.AddMailbox("carol", "other.test", hash);
    }

    private readonly TempDirectory _dir;
    private bool _stopped;

    public SecureMxOptions Options { get; }
    public TestStore Store { get; }
    public MessageSpool Spool { get; }
    public SessionLogRepository SessionLog { get; }
    public RecordingArrivalSink Arrivals { get; } = new();
    public SmtpListener Listener { get; }

    /// <summary>What the sessions look recipients, senders and passwords up in (<see cref="TestStore.Mailboxes"/> unless the test gave its own).</summary>
    public MailboxRepository Mailboxes { get; }

    /// <summary>What the listener's sessions are built with: for a session run on a stream of the test's own.</summary>
    public SmtpServerContext Context { get; }
    public IPEndPoint Endpoint => Listener.Endpoint;
    public string DataDirectory => _dir.Path;

    private SmtpTestServer(TempDirectory dir, SecureMxOptions options, ConnectionLimiter limiter, bool withTls, ListenerSettings listener, TimeProvider time,
        IStorageFaultInjector? faults, FreeSpaceGuard? freeSpace, IPEndPoint? bind, Func<StoreDatabase, MailboxRepository>? mailboxes,
        (string CertPem, string KeyPem)? certificatePem)
    {
        _dir = dir;
        Options = options;
        if (TestStore.Backend == StoreBackend.PostgreSql)
        {
            // The store tests' second run (SECUREMX_TEST_STORE=postgresql): the same accounts in a fresh database.
            Store = new TestStore(dir.Path, time);
            AddExampleAccounts(Store, TemplatePasswordHash.Value);
        }
        else
        {
            File.Copy(TemplateDatabase.Value, Path.Combine(dir.Path, StoreDatabase.FileName));
            Store = new TestStore(dir.Path, time); // migrating is a no-op on the template, as on any existing instance
        }

        Spool = new MessageSpool(Path.Combine(dir.Path, "spool"), time, NullLogger.Instance, faults is null ? null : new DurableFiles(faults), freeSpace);
        // The test's own (a directory cache, another store), else the store's: what the sessions read recipients, senders and passwords from.
        Mailboxes = mailboxes?.Invoke(Store.Database) ?? Store.Mailboxes;
        var policy = new InboundRecipientPolicy(new RecipientRouter(Mailboxes, options.Delivery));
        SessionLog = new SessionLogRepository(Store.Database, options.Logs, time, NullLogger.Instance);

        SslStreamCertificateContextHolder? certificate = null;
        if (withTls)
        {
            var certFile = Path.Combine(dir.Path, "tls", "cert.pem");
            var keyFile = Path.Combine(dir.Path, "tls", "key.pem");
            Directory.CreateDirectory(Path.GetDirectoryName(certFile)!);
            var pem = certificatePem ?? Pem.Value;
            File.WriteAllText(certFile, pem.CertPem);
            File.WriteAllText(keyFile, pem.KeyPem);
            certificate = CertificateFactory.Load(certFile, keyFile);
        }

        var authenticator = new AccountAuthenticator(Mailboxes, options.Auth, time, NullLogger.Instance);
        var senders = new SenderOwnershipPolicy(Mailboxes, options.Delivery);
        var ctx = new SmtpServerContext(options, Spool, policy, SessionLog, Arrivals, ServerCertificateSource.Fixed(certificate), authenticator, senders, time, NullLoggerFactory.Instance);
        Context = ctx;
        Listener = new SmtpListener(ctx, listener, bind ?? new IPEndPoint(IPAddress.Loopback, 0), limiter);
    }

    public static async Task<SmtpTestServer> StartAsync(
        Action<SecureMxOptions>? configure = null,
        ConnectionLimiter? limiter = null,
        bool withTls = true,
        TlsProfile? profile = null,
        ListenerSettings? listener = null,
        TimeProvider? time = null,
        IStorageFaultInjector? faults = null,
        FreeSpaceGuard? freeSpace = null,
        IPEndPoint? bind = null,
        Func<StoreDatabase, MailboxRepository>? mailboxes = null,
        SecureMx.TestKit.TestCertificate? certificate = null)
    {
        var options = new SecureMxOptions { Hostname = Hostname };
        configure?.Invoke(options);
        var dir = new TempDirectory();
        var server = new SmtpTestServer(dir, options, limiter ?? new ConnectionLimiter(100, 50), withTls,
            listener ?? ListenerSettings.Mx(profile ?? TlsProfile.Opportunistic), time ?? TimeProvider.System, faults, freeSpace, bind, mailboxes,
            certificate is null ? null : (certificate.ChainPem, certificate.KeyPem));
        await server.SessionLog.Writer.StartAsync(CancellationToken.None);
        server.Listener.Start();
        return server;
    }

    public async Task<RawSmtpClient> ConnectAsync(bool readGreeting = true)
    {
        var client = await RawSmtpClient.ConnectAsync(Endpoint);
        if (readGreeting) await client.ExpectAsync(220);
        return client;
    }

    /// <summary>Connects with TLS from the first byte (an implicit-TLS listener), reads the greeting and says EHLO.</summary>
    public async Task<RawSmtpClient> ConnectImplicitTlsEhloAsync(string name = "client.test")
    {
        var client = await RawSmtpClient.ConnectAsync(Endpoint);
        await client.UpgradeToTlsAsync();
        await client.ExpectAsync(220);
        await client.EhloAsync(name);
        return client;
    }

    /// <summary>Connects, reads the greeting and says EHLO.</summary>
    public async Task<RawSmtpClient> ConnectEhloAsync(string name = "client.test")
    {
        var client = await ConnectAsync();
        await client.EhloAsync(name);
        return client;
    }

    public byte[] ReadMessage(string id)
    {
        using var data = Spool.OpenData(id);
        using var copy = new MemoryStream();
        data.CopyTo(copy);
        return copy.ToArray();
    }

    public string[] DataFiles() => Directory.GetFiles(Spool.DataDirectory);

    public string[] IncomingFiles() => Directory.GetFiles(Spool.IncomingDirectory);

    /// <summary>Stops the listener (waiting for its sessions) and then the session log's writer, which writes what is pending.</summary>
    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await Listener.StopAsync(TimeSpan.FromSeconds(5));
        await SessionLog.Writer.StopAsync(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        SessionLog.Dispose();
        using (var c = Spool.Queue.OpenRead()) SqliteConnection.ClearPool(c);
        Spool.Dispose();
        Store.Dispose();
        _dir.Dispose();
    }
}
