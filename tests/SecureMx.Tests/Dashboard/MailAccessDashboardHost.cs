using SecureMx.Config;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A dashboard whose instance offers IMAP and POP3 with implicit TLS through Dovecot (mailAccess) under
/// its own host name, beside the submission listeners' defaults (2465 implicit TLS, 2587 STARTTLS).
/// </summary>
public sealed class MailAccessDashboardHost : DashboardTestHost
{
    public const string MailHost = "mail.provider.test";

    protected override void Configure(SecureMxOptions options)
    {
        options.Hostname = "mx.provider.test";
        options.MailAccess = new MailAccessOptions { Host = MailHost, Imaps = "127.0.0.1:993", Pop3s = "127.0.0.1:995" };
        options.Listeners.Submissions = "127.0.0.1:2465";
        options.Listeners.Submission = "127.0.0.1:2587";
    }
}
