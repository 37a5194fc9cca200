using System.Net;
using Microsoft.Extensions.Logging;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Dns;
using SecureMx.Spool;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Dashboard;

/// <summary>
/// What the dashboard shares with the mail server of the same process: the store, the queue, the
/// resolver, the login check (one throttle for SMTP AUTH and dashboard logins), the certificate.
/// </summary>
public sealed record DashboardDependencies(
    string DataDirectory,
    SecureMxOptions Options,
    IPEndPoint Endpoint,
    SslStreamCertificateContextHolder? Certificate,
    SecureMxStore Store,
    MessageSpool Spool,
    IMailDnsResolver Resolver,
    AccountAuthenticator Authenticator,
    TimeProvider Time,
    ILoggerFactory LoggerFactory);
