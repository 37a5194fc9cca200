using SecureMx.Cli;
using SecureMx.Config;

namespace SecureMx.Tests.Cli;

/// <summary>What `securemx dns-records` adds for mail programs after the MX and TLSA records.</summary>
public sealed class DnsRecordsCommandTests
{
    private static SecureMxOptions Options(Action<SecureMxOptions>? change = null)
    {
        var o = new SecureMxOptions
        {
            Hostname = "mx.provider.test",
            Listeners = new ListenerOptions { Submissions = "0.0.0.0:465", Submission = "0.0.0.0:587", Dashboard = "0.0.0.0:8443" },
            MailAccess = new MailAccessOptions { Host = "mail.provider.test", Imaps = "0.0.0.0:993", Imap = "0.0.0.0:143", Pop3s = "0.0.0.0:995", Pop3 = "0.0.0.0:110" },
        };
        change?.Invoke(o);
        return o;
    }

    private static string[] Records(SecureMxOptions o) =>
        DnsRecordsCommand.ClientRecords(o, "example.org").Where(l => l.Length > 0 && !l.StartsWith(';')).ToArray();

    private static string Comments(SecureMxOptions o) =>
        string.Join("\n", DnsRecordsCommand.ClientRecords(o, "example.org").Where(l => l.StartsWith(';')));

    [Fact]
    public void TheAutoconfigNameAndAnSrvRecordPerServicePointAtTheMailAccessHost()
    {
        Assert.Equal(
        [
            "autoconfig.example.org.\tIN\tCNAME\tmail.provider.test.",
            "_imaps._tcp.example.org.\tIN\tSRV\t0 1 993 mail.provider.test.",
            "_imap._tcp.example.org.\tIN\tSRV\t10 1 143 mail.provider.test.",
            "_pop3s._tcp.example.org.\tIN\tSRV\t20 1 995 mail.provider.test.",
            "_pop3._tcp.example.org.\tIN\tSRV\t30 1 110 mail.provider.test.",
            "_submissions._tcp.example.org.\tIN\tSRV\t0 1 465 mail.provider.test.",
            "_submission._tcp.example.org.\tIN\tSRV\t10 1 587 mail.provider.test.",
        ], Records(Options()));
    }

    [Fact]
    public void TheCommentsSayWhichListenerMustAnswerOn443AndCiteTheRfcs()
    {
        var comments = Comments(Options());
        Assert.Contains("https://autoconfig.example.org/mail/config-v1.1.xml", comments);
        Assert.Contains("the dashboard serves them (listeners.dashboard, now 0.0.0.0:8443): it must answer HTTPS on port 443 of mail.provider.test", comments);
        Assert.Contains("RFC 6186", comments);
        Assert.Contains("RFC 8314", comments);
    }

    [Fact]
    public void WithoutAMailAccessHostTheRecordsPointAtTheHostname()
    {
        var records = Records(Options(o => o.MailAccess.Host = ""));
        Assert.All(records, r => Assert.EndsWith(" mx.provider.test.", r.Replace('\t', ' '), StringComparison.Ordinal));
        Assert.Equal(7, records.Length);
    }

    [Fact]
    public void OnlyConfiguredServicesGetAnSrvRecord()
    {
        var records = Records(Options(o =>
        {
            o.MailAccess.Imap = "";
            o.MailAccess.Pop3s = "";
            o.MailAccess.Pop3 = "off";
            o.Listeners.Submission = "off";
        }));
        Assert.Equal(["autoconfig.example.org.", "_imaps._tcp.example.org.", "_submissions._tcp.example.org."], records.Select(r => r.Split('\t')[0]));
    }

    [Fact]
    public void WithTheDashboardOffThereIsNoAutoconfigRecordButAComment()
    {
        var o = Options(o => o.Listeners.Dashboard = "off");
        Assert.DoesNotContain(Records(o), r => r.Contains("CNAME", StringComparison.Ordinal));
        Assert.Contains("no autoconfig record: the dashboard, which serves the settings of mail programs, is off (listeners.dashboard)", Comments(o));
    }

    [Fact]
    public void WithNoClientServiceThereIsNoSrvRecordButAComment()
    {
        var o = Options(o =>
        {
            o.MailAccess = new MailAccessOptions { Host = "mail.provider.test" };
            o.Listeners.Submission = "off";
            o.Listeners.Submissions = "off";
        });
        Assert.Empty(Records(o));
        Assert.Contains("no SRV records for mail programs", Comments(o));
    }

    [Fact]
    public void WithoutImapOrPop3ThereIsNoAutoconfigRecordSinceTheDashboardWouldHaveNothingToServe()
    {
        var o = Options(o => o.MailAccess = new MailAccessOptions { Host = "mail.provider.test" });
        Assert.Equal(["_submissions._tcp.example.org.", "_submission._tcp.example.org."], Records(o).Select(r => r.Split('\t')[0]));
        Assert.Contains("no autoconfig record: no IMAP or POP3 is configured (mailAccess.*)", Comments(o));
    }

    [Fact]
    public void EachBlockStartsAfterAnEmptyLineSoTheExistingOutputStaysAsItWas()
    {
        var lines = DnsRecordsCommand.ClientRecords(Options(), "example.org").ToArray();
        Assert.Equal("", lines[0]);
        Assert.Equal(2, lines.Count(l => l.Length == 0));
    }
}
