using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Dns;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tests.Queue;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Dashboard;

/// <summary>The signed-in roles of the seeded instance (and nobody).</summary>
public enum Role { Anonymous, User, Other, AdminA, AdminB, UserB, Root }

/// <summary>
/// A dashboard on 127.0.0.1:0 over HTTPS with the instance's kind of self-signed certificate, on a
/// fresh store and spool: domains a.test and b.test, mailboxes user, other, admin (domain admin),
/// root (system admin) of a.test, and user, admin (domain admin) of b.test, all with <see cref="Password"/>.
/// One per test class; the login limits are generous unless a subclass sets them in <see cref="Configure"/>.
/// </summary>
public class DashboardTestHost : IAsyncLifetime
{
    public const string Password = "Pa55-word-for-the-dashboard";

    // A hash costs a tenth of a second: one for every mailbox of every host in the run.
    private static readonly Lazy<string> SharedHash = new(() => PasswordHash.Create(Password));

    public static string Hash => SharedHash.Value;

    public static readonly IReadOnlyDictionary<Role, string> Addresses = new Dictionary<Role, string>
    {
        [Role.User] = "user@a.test",
        [Role.Other] = "other@a.test",
        [Role.AdminA] = "admin@a.test",
        [Role.AdminB] = "admin@b.test",
        [Role.UserB] = "user@b.test",
        [Role.Root] = "root@a.test",
    };

    private readonly TempDirectory _dir = new();
    private readonly ConcurrentDictionary<Role, DashboardClient> _clients = new();
    private readonly List<DashboardClient> _owned = new();
    private WebApplication? _app;

    public SecureMxOptions Options { get; } = new();

    /// <summary>The store and the repositories the dashboard uses (its own temp directory).</summary>
    public TestStore Store { get; private set; } = null!;

    public MessageSpool Spool { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public SslStreamCertificateContextHolder Certificate { get; private set; } = null!;

    /// <summary>Errors the dashboard logged (an unhandled exception in a page shows up here).</summary>
    public ConcurrentQueue<string> Errors { get; } = new();

    /// <summary>Warnings the dashboard logged (the framework's start-up warnings among them).</summary>
    public ConcurrentQueue<string> Warnings { get; } = new();

    /// <summary>The instance directory the dashboard was given (its key ring lives there).</summary>
    public string DataDirectory => _dir.Path;

    protected virtual void Configure(SecureMxOptions options)
    {
    }

    /// <summary>The clock of the dashboard and its store (a subclass may use a fake one).</summary>
    public virtual TimeProvider Time => TimeProvider.System;

    /// <summary>Data a test class needs beyond the domains, mailboxes and roles (before the server starts).</summary>
    protected virtual Task SeedAsync() => Task.CompletedTask;

    /// <summary>The host's own directory: the spool, the certificate, and the store when <see cref="StoreInHostDirectory"/>.</summary>
    protected string HostDirectory => _dir.Path;

    /// <summary>Whether the store lies in <see cref="HostDirectory"/> (on one file system with the spool) rather than a temp directory of its own.</summary>
    protected virtual bool StoreInHostDirectory => false;

    /// <summary>The store the dashboard runs on (a subclass may put it on a PostgreSQL server of its own).</summary>
    protected virtual TestStore CreateStore() =>
        StoreInHostDirectory ? new TestStore(Directory.CreateDirectory(_dir.Combine("data")).FullName, Time) : new TestStore(Time);

    /// <summary>Whether the dashboard takes its store as shared by several nodes (the key ring and the login throttle are kept in it).</summary>
    protected virtual bool StoreIsShared => false;

    /// <summary>Whether the spool has the free-space guard of limits.minFreeDiskMb (the queue page's low-disk warning); off unless a subclass says so.</summary>
    protected virtual bool GuardsSpoolFreeSpace => false;

    /// <summary>Runs first, before anything is written to <see cref="HostDirectory"/> (a subclass may mount a file system there).</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>Runs last, after the server, the spool and the store are closed and before <see cref="HostDirectory"/> is deleted.</summary>
    protected virtual Task CleanUpAsync() => Task.CompletedTask;

    public async ValueTask InitializeAsync()
    {
        Options.Auth.FailureDelay = "0s";
        Options.Auth.MaxFailuresPerIp = 1000;
        Options.Dashboard.LoginAttemptsPerMinute = 1000;
        Configure(Options);
        await PrepareAsync();

        Store = CreateStore();
        Store.Mailboxes.AddDomain("a.test");
        Store.Mailboxes.AddDomain("b.test");
        foreach (var mailbox in Addresses.Values) AddMailbox(mailbox);
        Store.Roles.AddDomainAdmin("a.test", "admin@a.test", "test");
        Store.Roles.AddDomainAdmin("b.test", "admin@b.test", "test");
        Store.Roles.AddSystemAdmin("root@a.test", "test");

        var spool = _dir.Combine("spool");
        Spool = new MessageSpool(spool, TimeProvider.System, NullLogger.Instance,
            freeSpace: GuardsSpoolFreeSpace ? new FreeSpaceGuard(spool, Options.Limits.MinFreeDiskMb, TimeProvider.System, NullLogger.Instance) : null);
        var (certPem, keyPem) = CertificateFactory.CreateSelfSigned("dashboard.test", TimeProvider.System);
        File.WriteAllText(_dir.Combine("cert.pem"), certPem);
        File.WriteAllText(_dir.Combine("key.pem"), keyPem);
        Certificate = CertificateFactory.Load(_dir.Combine("cert.pem"), _dir.Combine("key.pem"));

        await SeedAsync();

        var logging = LoggerFactory.Create(b => b.AddProvider(new ErrorCollector(Errors, Warnings)));
        var shared = StoreIsShared ? Store.Database : null;
        var authenticator = new AccountAuthenticator(Store.Mailboxes, Options.Auth, Time, NullLogger.Instance, shared);
        _app = DashboardServer.Build(new DashboardDependencies(_dir.Path, Options, new IPEndPoint(IPAddress.Loopback, 0), ServerCertificateSource.Fixed(Certificate),
            Store.Mailboxes, Store.Policies, Store.Roles, Store.Sessions, Store.DeliveryLog, Store.Readiness, new OutboundTlsPolicy(Store.Policies, Options.Delivery),
            Spool, Dns(), authenticator, Time, logging, shared) { OtherNodes = OtherNodesQueues(), RefusedAttempts = new RefusedAttemptRepository(Store.Database) });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        BaseAddress = new Uri(new Uri(address).GetLeftPart(UriPartial.Authority) + "/");
    }

    /// <summary>Adds a mailbox with the shared password; returns its address.</summary>
    public string AddMailbox(string address)
    {
        var at = address.IndexOf('@');
        Store.Mailboxes.AddMailbox(address[..at], address[(at + 1)..], Hash);
        return address;
    }

    /// <summary>A new client without a session.</summary>
    public DashboardClient NewClient(string? acceptLanguage = "en")
    {
        var client = new DashboardClient(BaseAddress, Certificate.Certificate, acceptLanguage);
        lock (_owned) _owned.Add(client);
        return client;
    }

    /// <summary>A new client signed in as <paramref name="address"/> (fails the test if the login does not succeed).</summary>
    public async Task<DashboardClient> SignInAsync(string address, string? acceptLanguage = "en")
    {
        var client = NewClient(acceptLanguage);
        using var response = await client.LoginAsync(address, Password);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"login of {address}: {(int)response.StatusCode}");
        return client;
    }

    /// <summary>A signed-in client per role, made once per host (a login costs a password hash).</summary>
    public async Task<DashboardClient> As(Role role)
    {
        if (_clients.TryGetValue(role, out var c)) return c;
        c = role == Role.Anonymous ? NewClient() : await SignInAsync(Addresses[role]);
        return _clients.GetOrAdd(role, c);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_owned)
        {
            foreach (var c in _owned) c.Dispose();
        }
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        Spool?.Dispose();
        Store?.Dispose();
        await CleanUpAsync();
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>
    /// MX and TLSA queries fail as the real resolver reports a SERVFAIL (an answer, no exception):
    /// the pages must render without DNS.
    /// </summary>
    /// <summary>The resolver of the DNS check: every lookup fails (SERVFAIL) unless a subclass answers.</summary>
    protected virtual IMailDnsResolver Dns() => ServFailDns();

    /// <summary>The other nodes' queues the deferred-mail page shows: none (a single box) unless a host shares its store.</summary>
    protected virtual OtherNodes OtherNodesQueues() => OtherNodes.None;

    private static FakeMailDns ServFailDns() => new(TimeProvider.System, FakeMailDns.ServFail)
    {
        Tlsa = (host, port) => TlsaResolution.FromAnswer(TlsaResolution.OwnerName(host, port), DnsAnswer<TlsaRecordData>.Fail("SERVFAIL")),
    };

    private sealed class ErrorCollector(ConcurrentQueue<string> errors, ConcurrentQueue<string> warnings) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = formatter(state, exception) + (exception is null ? "" : ": " + exception);
            (logLevel >= LogLevel.Error ? errors : warnings).Enqueue(line);
        }

        public void Dispose()
        {
        }
    }
}

/// <summary>The login limit per client address is small here (3 a minute).</summary>
public sealed class RateLimitedDashboardHost : DashboardTestHost
{
    public const int AttemptsPerMinute = 3;

    protected override void Configure(SecureMxOptions options) => options.Dashboard.LoginAttemptsPerMinute = AttemptsPerMinute;
}

/// <summary>The shared AUTH throttle blocks an account after 3 failures here.</summary>
public sealed class ThrottledDashboardHost : DashboardTestHost
{
    public const int MaxFailuresPerAccount = 3;

    protected override void Configure(SecureMxOptions options) => options.Auth.MaxFailuresPerAccount = MaxFailuresPerAccount;
}
