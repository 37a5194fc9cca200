using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dashboard;
using SecureMx.Delivery.Lmtp;
using SecureMx.Delivery.Remote;
using SecureMx.Dns;
using SecureMx.MailAuth;
using SecureMx.MailAuth.Dmarc;
using SecureMx.MtaSts;
using SecureMx.Policy;
using SecureMx.Queue;
using SecureMx.Reporting;
using SecureMx.Smtp;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Hosting;

/// <summary>Wires the mail flow into one process: listeners → sessions → spool → queue → delivery.</summary>
public static class ServerHost
{
    /// <param name="overrides">The serve command line's --section:key=value overrides, applied again at each reload.</param>
    /// <param name="reloadSignal">The SIGHUP handler serve registered before the build; null: registered here.</param>
    public static IHost Build(string dataDirectory, SecureMxOptions options, TimeProvider time, string[]? overrides = null, ReloadSignalService? reloadSignal = null)
    {
        // Registered before anything starts: a SIGHUP during start-up is queued, never the end of the process.
        var signal = reloadSignal ?? new ReloadSignalService();
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = dataDirectory });
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        // Its formatters and options stay; its provider makes way for one that writes lines in batches.
        foreach (var console in builder.Services.Where(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider)).ToList())
            builder.Services.Remove(console);
        builder.Services.AddSingleton<ILoggerProvider, BatchedConsoleLoggerProvider>();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        // ASP.NET Core logs several lines per request at Information; the dashboard writes one access line of its own.
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        var level = Environment.GetEnvironmentVariable("SECUREMX_LOG_LEVEL");
        if (Enum.TryParse<LogLevel>(level, ignoreCase: true, out var parsed)) builder.Logging.SetMinimumLevel(parsed);

        // Under systemd (Type=notify): READY=1 once every hosted service has started, i.e. every listener is
        // bound; STOPPING=1 on SIGTERM; log lines in the journal's format. Outside systemd it does nothing.
        builder.Services.AddSystemd();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(options.Limits.ShutdownGraceSeconds + 20));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(time);
        // The certificate pair every new TLS handshake takes; SIGHUP and the file watch replace it on renewal.
        builder.Services.AddSingleton(_ => ServerCertificateSource.Load(
            ConfigLoader.ResolvePath(dataDirectory, options.Tls.Certificate), ConfigLoader.ResolvePath(dataDirectory, options.Tls.Key)));
        // The store by concept: one database (SQLite, or PostgreSQL shared by several nodes), a repository per
        // concern. Opened and migrated here, before anything listens: a store that cannot be reached or is
        // newer than this program stops the start with its reason.
        var store = StoreDatabase.Open(dataDirectory, options.Store);
        builder.Services.AddSingleton(store);
        // Several nodes on one PostgreSQL: the hot path reads a cached directory, kept current by LISTEN/NOTIFY
        // (docs/ARCHITECTURE.md, "The directory cache"). With SQLite there is none: every read is a query.
        if (store.IsShared)
        {
            builder.Services.AddSingleton(sp => DirectoryCache.For(store, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Store.Directory")));
            builder.Services.AddSingleton(sp => new DirectoryCacheService(sp.GetRequiredService<DirectoryCache>(), PostgresDirectoryChangeFeed.For(store), time,
                sp.GetRequiredService<ILogger<DirectoryCacheService>>()));
        }
        builder.Services.AddSingleton(sp => new MailboxRepository(sp.GetRequiredService<StoreDatabase>(), time, sp.GetService<DirectoryCache>()));
        builder.Services.AddSingleton(sp => new TlsPolicyRepository(sp.GetRequiredService<StoreDatabase>(), time, sp.GetService<DirectoryCache>()));
        builder.Services.AddSingleton(sp => new RoleRepository(sp.GetRequiredService<StoreDatabase>(), time));
        builder.Services.AddSingleton(sp => new DashboardSessionRepository(sp.GetRequiredService<StoreDatabase>(), time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Store.DashboardSessions")));
        var node = options.Node.EffectiveName();
        builder.Services.AddSingleton(sp => new DeliveryLogRepository(sp.GetRequiredService<StoreDatabase>(),
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Store.DeliveryLog"), node: node));
        builder.Services.AddSingleton(sp => new SessionLogRepository(sp.GetRequiredService<StoreDatabase>(), options.Logs, time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Store.SessionLog"), node: node));
        // TLS reporting (RFC 8460): outbound sessions counted per day in the store, write-behind.
        builder.Services.AddSingleton(sp => new TlsSessionRepository(sp.GetRequiredService<StoreDatabase>(), time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Store.TlsSessions")));
        builder.Services.AddSingleton(sp => new ReadinessQueries(sp.GetRequiredService<StoreDatabase>(), sp.GetRequiredService<DeliveryLogRepository>()));
        builder.Services.AddSingleton(sp => RecipientRouter.For(sp.GetRequiredService<MailboxRepository>(), options));
        // TLS reports received for the hosted domains (RFC 8460), by mail (the queue) and HTTPS POST (listeners.mtaSts).
        builder.Services.AddSingleton(sp => new TlsReportRepository(sp.GetRequiredService<StoreDatabase>(), options.Logs, time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Reporting")));
        builder.Services.AddSingleton(sp => new TlsReportIntake(new TlsReportReader(options.TlsReporting), sp.GetRequiredService<TlsReportRepository>(),
            sp.GetRequiredService<MailboxRepository>().IsHosted, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Reporting")));
        builder.Services.AddSingleton(sp => new RefusedAttemptRepository(sp.GetRequiredService<StoreDatabase>()));
        builder.Services.AddSingleton(sp => new OutboundTlsPolicy(sp.GetRequiredService<TlsPolicyRepository>(), options.Delivery));
        builder.Services.AddSingleton(sp =>
        {
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Spool");
            var root = Path.Combine(dataDirectory, "spool");
            var spool = new MessageSpool(root, time, log, freeSpace: new FreeSpaceGuard(root, options.Limits.MinFreeDiskMb, time, log));
            // Before any listener opens: what was never acknowledged goes; everything acknowledged stays queued.
            var removed = spool.Recover();
            if (removed > 0) log.LogInformation("removed {Count} file(s) of transfers that were never acknowledged", removed);
            return spool;
        });
        builder.Services.AddSingleton(sp => new InboundRecipientPolicy(sp.GetRequiredService<RecipientRouter>()));
        builder.Services.AddSingleton<IMailDnsResolver>(_ => new MailDnsResolver(options.Dns, time: time));
        // MTA-STS (RFC 8461): recipient domains' policies, fetched over HTTPS and cached in the store (MtaSts/).
        builder.Services.AddSingleton(_ => InstanceTrust.Load(dataDirectory, options));
        builder.Services.AddSingleton(sp => MtaStsPolicyCache.Create(sp.GetRequiredService<IMailDnsResolver>(), sp.GetRequiredService<PkixTrust>(), options,
            sp.GetRequiredService<StoreDatabase>(), time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.MtaSts")));
        builder.Services.AddSingleton<IMtaStsPolicySource>(sp => sp.GetRequiredService<MtaStsPolicyCache>());
        // Idle sessions to remote servers are kept (delivery.connectionIdleSeconds) for the next message to the same server.
        builder.Services.AddSingleton(_ => new SmtpConnectionCache(TimeSpan.FromSeconds(options.Delivery.ConnectionIdleSeconds), time, options.Delivery.ConnectionReuseLimit));
        builder.Services.AddSingleton(sp => new RemoteDelivery(sp.GetRequiredService<IMailDnsResolver>(), options,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Delivery.Remote"), sp.GetRequiredService<PkixTrust>(), sp.GetRequiredService<SmtpConnectionCache>(), time,
            sp.GetService<IMtaStsPolicySource>(), sp.GetRequiredService<TlsSessionRepository>())); // MTA-STS where a policy source is registered
        builder.Services.AddSingleton(sp =>
        {
            var spool = sp.GetRequiredService<MessageSpool>();
            var log = sp.GetRequiredService<ILogger<QueueRunner>>();
            IDeliverer local = new MaildirDeliverer(spool, options, dataDirectory, time, log);
            if (LmtpTarget.Parse(options.Delivery.Lmtp) is { } lmtpTarget)
            {
                // Hosted mailboxes through the mailbox server's LMTP; the instance's postmaster Maildir stays a Maildir.
                var certificates = sp.GetRequiredService<ServerCertificateSource>();
                var lmtp = new LmtpDelivery(lmtpTarget, options, () => certificates.Current?.Certificate,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Delivery.Lmtp"));
                local = new LmtpDeliverer(spool, lmtp, local, options, time, log);
            }
            local = new TlsReportDeliverer(local, spool, sp.GetRequiredService<TlsReportIntake>(), options, time, log);
            var remote = new SmtpDeliverer(spool, sp.GetRequiredService<RemoteDelivery>(), sp.GetRequiredService<OutboundTlsPolicy>(), options.Delivery, time, log);
            return new QueueRunner(spool, sp.GetRequiredService<DeliveryLogRepository>(), sp.GetRequiredService<RecipientRouter>(), local, remote, options, time, log);
        });
        builder.Services.AddSingleton(sp => new AccountAuthenticator(sp.GetRequiredService<MailboxRepository>(), options.Auth, time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Auth"), SharedStore(sp)));
        builder.Services.AddSingleton(sp => new SenderOwnershipPolicy(sp.GetRequiredService<MailboxRepository>(), options.Delivery));
        builder.Services.AddSingleton(sp => new SmtpServerContext(
            options,
            sp.GetRequiredService<MessageSpool>(),
            sp.GetRequiredService<InboundRecipientPolicy>(),
            sp.GetRequiredService<SessionLogRepository>(),
            sp.GetRequiredService<QueueRunner>(),
            sp.GetRequiredService<ServerCertificateSource>(),
            sp.GetRequiredService<AccountAuthenticator>(),
            sp.GetRequiredService<SenderOwnershipPolicy>(),
            time,
            sp.GetRequiredService<ILoggerFactory>())
        {
            ReverseDns = sp.GetRequiredService<IMailDnsResolver>(),
            Signer = SubmissionSigner(sp.GetRequiredService<StoreDatabase>(), time),
            MailAuthentication = InboundAuthentication(options, sp.GetRequiredService<IMailDnsResolver>(), time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.MailAuth")),
            EnforcesDmarc = sp.GetRequiredService<TlsPolicyRepository>().DomainEnforcesDmarc,
        });
        builder.Services.AddSingleton<SmtpServerService>();
        builder.Services.AddSingleton(sp => new DashboardService(
            () => new DashboardDependencies(dataDirectory, options, Endpoint.Parse(options.Listeners.Dashboard, "listeners.dashboard")!,
                sp.GetRequiredService<ServerCertificateSource>(), sp.GetRequiredService<MailboxRepository>(), sp.GetRequiredService<TlsPolicyRepository>(),
                sp.GetRequiredService<RoleRepository>(), sp.GetRequiredService<DashboardSessionRepository>(), sp.GetRequiredService<DeliveryLogRepository>(), sp.GetRequiredService<ReadinessQueries>(),
                sp.GetRequiredService<OutboundTlsPolicy>(), sp.GetRequiredService<MessageSpool>(), sp.GetRequiredService<IMailDnsResolver>(),
                sp.GetRequiredService<AccountAuthenticator>(), time, sp.GetRequiredService<ILoggerFactory>(), SharedStore(sp))
            {
                OtherNodes = options.Store.IsShared ? new OtherNodes(new NodeRegistry(sp.GetRequiredService<StoreDatabase>(), time), node) : OtherNodes.None,
                DkimKeys = new Dkim.DkimKeyRepository(sp.GetRequiredService<StoreDatabase>(), time),
                TlsReports = sp.GetRequiredService<TlsReportRepository>(),
                RefusedAttempts = sp.GetRequiredService<RefusedAttemptRepository>(),
            },
            options, sp.GetRequiredService<ILogger<DashboardService>>()));

        // Stopped in reverse order: listeners first, then the dashboard, the queue, and last the log
        // writers, which write what the listeners and the queue left queued. The directory cache's first
        // snapshot is loaded before anything else starts.
        if (store.IsShared) builder.Services.AddHostedService(sp => sp.GetRequiredService<DirectoryCacheService>());
        // Then the node's number goes into every queue id made from here on (the queue's DSNs, the listeners' messages).
        builder.Services.AddSingleton(sp => new NodeService(sp.GetRequiredService<StoreDatabase>(), sp.GetRequiredService<MessageSpool>(), options, dataDirectory, time,
            sp.GetRequiredService<ILogger<NodeService>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NodeService>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeliveryLogRepository>().Writer);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SessionLogRepository>().Writer);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<TlsSessionRepository>().Writer);
        builder.Services.AddHostedService(sp => sp.GetRequiredService<QueueRunner>());
        // TLS reports (RFC 8460) to recipient domains, after each UTC day, each from one node (README, "TLS reports"); stopped before the queue.
        if (options.TlsReporting.Send) builder.Services.AddHostedService(sp => new TlsReportService(TlsReportSenderFor(sp, options, node, time), time, sp.GetRequiredService<ILogger<TlsReportService>>()));
        builder.Services.AddHostedService(sp => new RefusedDigestService(new RefusedMailDigest(sp.GetRequiredService<RefusedAttemptRepository>(),
            sp.GetRequiredService<RoleRepository>(), new ReportSendRepository(sp.GetRequiredService<StoreDatabase>()), sp.GetRequiredService<MessageSpool>(),
            sp.GetRequiredService<QueueRunner>(), sp.GetRequiredService<RecipientRouter>(), options, node, time,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Reporting.RefusedDigest")), time, sp.GetRequiredService<ILogger<RefusedDigestService>>()));
        builder.Services.AddHostedService(sp => new DkimRotationService(new Dkim.DkimRotation(new Dkim.DkimKeyRepository(sp.GetRequiredService<StoreDatabase>(), time),
            sp.GetRequiredService<IMailDnsResolver>(), time), time, sp.GetRequiredService<ILogger<DkimRotationService>>()));
        builder.Services.AddHostedService(sp => new MtaStsRefreshService(sp.GetRequiredService<MtaStsPolicyCache>(), time, sp.GetRequiredService<ILogger<MtaStsRefreshService>>()));
        builder.Services.AddHostedService(sp => new MaildirTmpCleanupService(dataDirectory, options, time, sp.GetRequiredService<ILogger<MaildirTmpCleanupService>>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DashboardService>());
        builder.Services.AddHostedService(sp => new MetricsService(dataDirectory, options, sp.GetRequiredService<MessageSpool>(),
            sp.GetRequiredService<IHostApplicationLifetime>(), time, sp.GetRequiredService<ILoggerFactory>(), sp.GetRequiredService<StoreDatabase>()));
        builder.Services.AddHostedService(sp => new MtaStsService(dataDirectory, options, sp.GetRequiredService<TlsPolicyRepository>(), time, sp.GetRequiredService<ILoggerFactory>(),
            sp.GetRequiredService<TlsReportIntake>()));
        builder.Services.AddHostedService(sp => new DovecotPolicyService(dataDirectory, options, sp.GetRequiredService<AccountAuthenticator>(), sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<SmtpServerService>());
        builder.Services.AddHostedService(sp => new StartupTrim(sp.GetRequiredService<IHostApplicationLifetime>()));
        // Started last, stopped first: no reload while the server stops.
        builder.Services.AddHostedService(sp => new CertificateFileWatch(sp.GetRequiredService<ServerCertificateSource>(), time,
            sp.GetRequiredService<ILogger<CertificateFileWatch>>(), dataDirectory));
        builder.Services.AddHostedService(sp => signal.Use(
            new InstanceReloader(dataDirectory, overrides ?? [], options, sp.GetRequiredService<ServerCertificateSource>(),
                rules => sp.GetRequiredService<QueueRunner>().TimeRules = rules, sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Reload")),
            sp.GetRequiredService<ILogger<ReloadSignalService>>()));
        if (reloadSignal is not null) return builder.Build(); // the caller's: it disposes it
        // Ours: owned by the container from the build on, so a host disposed without ever starting
        // still gives SIGHUP back (a factory singleton, resolved once here, is disposed with the host).
        builder.Services.AddSingleton(_ => signal);
        var host = builder.Build();
        host.Services.GetRequiredService<ReloadSignalService>();
        return host;
    }

    /// <summary>SPF, DKIM and DMARC for the MX listeners (inboundAuthentication.*), on the configured resolver; null when switched off.</summary>
    private static InboundAuthenticator? InboundAuthentication(SecureMxOptions options, IMailDnsResolver resolver, TimeProvider time, ILogger log)
    {
        if (!options.InboundAuthentication.Enabled || resolver is not IDnsRecordLookup lookups) return null;
        var suffixes = PublicSuffixList.Load(options.InboundAuthentication.PublicSuffixList, out var problem);
        if (problem is not null) log.LogWarning("inboundAuthentication: {Problem} (install the Debian package publicsuffix)", problem);
        return new InboundAuthenticator(lookups, suffixes, time, TimeSpan.FromSeconds(options.InboundAuthentication.TimeBudgetSeconds), log);
    }

    /// <summary>The daily TLS reports' sender: report mail into this node's queue (delivered at once), POSTs through the validating resolver.</summary>
    private static TlsReportSender TlsReportSenderFor(IServiceProvider sp, SecureMxOptions options, string node, TimeProvider time)
    {
        var dns = sp.GetRequiredService<IMailDnsResolver>();
        var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("SecureMx.Reporting");
        return new TlsReportSender(dns, sp.GetRequiredService<TlsSessionRepository>(), new ReportSendRepository(sp.GetRequiredService<StoreDatabase>()),
            new TlsReportPoster(dns, sp.GetRequiredService<PkixTrust>(), options, time),
            new MessageAcceptor(sp.GetRequiredService<MessageSpool>(), sp.GetRequiredService<QueueRunner>(), time, log),
            sp.GetRequiredService<RecipientRouter>(), options, node, time, log)
        {
            Sign = SubmissionSigner(sp.GetRequiredService<StoreDatabase>(), time).SignOrReport("a TLS report", why => log.LogError("DKIM: {Why}", why)),
        };
    }

    /// <summary>The store when several nodes share it (the login throttle and the dashboard's key ring are kept there then); null for a store of this node alone.</summary>
    /// <summary>DKIM signing of submitted mail, with the keys of the store (and their private halves where that store keeps them).</summary>
    private static Dkim.SubmissionSigner SubmissionSigner(StoreDatabase db, TimeProvider time) =>
        new(new Dkim.DkimKeyRepository(db, time), Dkim.DkimPrivateKeyStore.For(db, SecureMx.Dashboard.DashboardKeyRingKey.Reader(db.DataDirectory)), time);

    private static StoreDatabase? SharedStore(IServiceProvider sp) => sp.GetRequiredService<StoreDatabase>() is { IsShared: true } db ? db : null;
}
