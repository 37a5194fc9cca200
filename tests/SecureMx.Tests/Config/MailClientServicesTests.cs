using SecureMx.Config;

namespace SecureMx.Tests.Config;

/// <summary>Which services mail programs are told about, in which order, under which host.</summary>
public sealed class MailClientServicesTests
{
    private static SecureMxOptions Options(string imaps = "", string imap = "", string pop3s = "", string pop3 = "",
        string submissions = "0.0.0.0:465", string submission = "0.0.0.0:587", string host = "") => new()
    {
        Hostname = "mx.provider.test",
        Listeners = new ListenerOptions { Submissions = submissions, Submission = submission },
        MailAccess = new MailAccessOptions { Host = host, Imaps = imaps, Imap = imap, Pop3s = pop3s, Pop3 = pop3 },
    };

    private static string Describe(MailClientService s) => $"{s.SrvService} {s.Host}:{s.Port} {s.Protocol}/{s.Security} {s.ConfigKey} incoming={s.Incoming}";

    [Fact]
    public void EveryConfiguredServiceInPreferenceOrderWithThePortOfItsEndpoint()
    {
        var offered = MailClientServices.Offered(Options(pop3: "127.0.0.1:110", imap: "[::1]:143", pop3s: "0.0.0.0:995", imaps: "192.0.2.1:993", host: "mail.provider.test"));

        Assert.Equal(
        [
            "_imaps mail.provider.test:993 Imap/ImplicitTls mailAccess.imaps incoming=True",
            "_imap mail.provider.test:143 Imap/StartTls mailAccess.imap incoming=True",
            "_pop3s mail.provider.test:995 Pop3/ImplicitTls mailAccess.pop3s incoming=True",
            "_pop3 mail.provider.test:110 Pop3/StartTls mailAccess.pop3 incoming=True",
            "_submissions mail.provider.test:465 Smtp/ImplicitTls listeners.submissions incoming=False",
            "_submission mail.provider.test:587 Smtp/StartTls listeners.submission incoming=False",
        ], offered.Select(Describe));
    }

    [Fact]
    public void WithoutAMailAccessHostTheHostnameIsTheServer()
    {
        var offered = MailClientServices.Offered(Options(imaps: "0.0.0.0:993"));
        Assert.All(offered, s => Assert.Equal("mx.provider.test", s.Host));
        Assert.Equal(["_imaps", "_submissions", "_submission"], offered.Select(s => s.SrvService));
    }

    [Theory]
    [InlineData("")]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("not-an-endpoint")]
    [InlineData("0.0.0.0:0")]
    public void AnEmptyOffOrUnreadableEndpointIsAServiceNotOffered(string value)
    {
        var offered = MailClientServices.Offered(Options(imaps: value, imap: value, pop3s: value, pop3: value, submissions: value, submission: "127.0.0.1:2587"));
        Assert.Equal(["_submission 2587"], offered.Select(s => $"{s.SrvService} {s.Port}"));
    }
}
