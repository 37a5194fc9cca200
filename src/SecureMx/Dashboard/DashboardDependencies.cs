using System.Net;
using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Policy;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Dashboard;

/// <summary>
/// What the dashboard shares with the mail server of the same process: the store's repositories
/// (its own session records among them),
/// the effective outbound policy, the queue, the resolver, the login check (one throttle for SMTP
/// AUTH and dashboard logins), the certificate; the store when several nodes share it (the data-protection key ring is kept there).
/// </summary>
public sealed record DashboardDependencies(
    string DataDirectory,
    SecureMxOptions Options,
    IPEndPoint Endpoint,
    ServerCertificateSource Certificates,
    MailboxRepository Mailboxes,
    TlsPolicyRepository Policies,
    RoleRepository Roles,
    DashboardSessionRepository Sessions,
    DeliveryLogRepository DeliveryLog,
    ReadinessQueries Readiness,
    OutboundTlsPolicy OutboundTls,
    MessageSpool Spool,
    IMailDnsResolver Resolver,
    AccountAuthenticator Authenticator,
    TimeProvider Time,
    ILoggerFactory LoggerFactory,
    StoreDatabase? SharedStore = null)
{
    /// <summary>The other nodes' published queues (a shared store); <see cref="OtherNodes.None"/> on a single box.</summary>
    public OtherNodes OtherNodes { get; init; } = OtherNodes.None;

    /// <summary>The TLS reports received for the hosted domains (the domain page shows them); null: none kept.</summary>
    public TlsReportRepository? TlsReports { get; init; }

    /// <summary>The refused-mail report of inbound mandatory TLS and each domain's digest switch (the domain page).</summary>
    public required RefusedAttemptRepository RefusedAttempts { get; init; }

    /// <summary>The hosted domains' DKIM keys (the domain page lists and checks their records); null: none shown.</summary>
    public SecureMx.Dkim.DkimKeyRepository? DkimKeys { get; init; }

    /// <summary>The instance's certificate pair now (a renewal may replace it while the dashboard runs).</summary>
    public SslStreamCertificateContextHolder? Certificate => Certificates.Current;
}
