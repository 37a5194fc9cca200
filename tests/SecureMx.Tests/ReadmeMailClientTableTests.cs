using System.Text.RegularExpressions;
using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests;

/// <summary>
/// The mail program settings table of the README ("Reading mail") says what the dashboard's account
/// page and the autoconfig file say — both come from <see cref="MailClientServices"/> — for a
/// production instance (dovecot-config's default listeners, the standard submission ports) and for
/// the demo (the ports scripts/demo.sh passes to dovecot-config, init's submission defaults). That
/// each row's connection security works is pinned by the integration tests against a real Dovecot
/// (Reading/ImapPop3ReadingTests) and against submission (Submission/).
/// </summary>
public sealed partial class ReadmeMailClientTableTests
{
    private sealed record Row(string Service, int ProductionPort, int DemoPort, string Security, string Authentication, string UserName);

    private static List<Row> Table()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var start = readme.IndexOf("## Reading mail", StringComparison.Ordinal);
        Assert.True(start >= 0, "README.md has no section \"Reading mail\"");
        var section = readme[start..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];
        return RowPattern().Matches(section).Select(m => new Row(m.Groups[1].Value, int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value),
            m.Groups[4].Value.Trim(), m.Groups[5].Value.Trim(), m.Groups[6].Value.Trim())).ToList();
    }

    [GeneratedRegex(@"^\| (IMAP|POP3|SMTP) \|[^|]*\| (\d+) \| (\d+) \| ([^|]+)\| ([^|]+)\| ([^|]+)\|", RegexOptions.Multiline)]
    private static partial Regex RowPattern();

    private static SecureMxOptions Options(int imaps, int imap, int pop3s, int pop3, int submissions, int submission) => new()
    {
        Hostname = "mx.example.net",
        MailAccess = new MailAccessOptions { Imaps = $"0.0.0.0:{imaps}", Imap = $"0.0.0.0:{imap}", Pop3s = $"0.0.0.0:{pop3s}", Pop3 = $"0.0.0.0:{pop3}" },
        Listeners = new ListenerOptions { Submissions = $"0.0.0.0:{submissions}", Submission = $"0.0.0.0:{submission}" },
    };

    private static int DemoPort(string flag)
    {
        var demo = File.ReadAllText(Path.Combine(Repository.Root, "scripts", "demo.sh"));
        var m = Regex.Match(demo, $@"--{flag} 127\.0\.0\.1:(\d+)");
        Assert.True(m.Success, $"scripts/demo.sh passes no --{flag} to dovecot-config");
        return int.Parse(m.Groups[1].Value);
    }

    [Fact]
    public void TheTableListsExactlyTheServicesAnInstanceOffersInTheOrderClientsPreferThem()
    {
        var table = Table();
        var production = MailClientServices.Offered(Options(993, 143, 995, 110, 465, 587));
        var defaults = new ListenerOptions();
        var demo = MailClientServices.Offered(Options(DemoPort("imaps"), DemoPort("imap"), DemoPort("pop3s"), DemoPort("pop3"),
            Endpoint.Parse(defaults.Submissions, "")!.Port, Endpoint.Parse(defaults.Submission, "")!.Port));
        Assert.Equal(production.Count, table.Count);
        for (int i = 0; i < table.Count; i++)
        {
            var (row, p, d) = (table[i], production[i], demo[i]);
            Assert.Equal(p.Protocol.ToString().ToUpperInvariant(), row.Service);
            Assert.Equal(p.Port, row.ProductionPort);
            Assert.Equal(d.Port, row.DemoPort);
            Assert.Equal(p.Security == MailClientSecurity.ImplicitTls ? "SSL/TLS" : "STARTTLS", row.Security);
            Assert.Equal("normal password", row.Authentication);
        }
    }
}
