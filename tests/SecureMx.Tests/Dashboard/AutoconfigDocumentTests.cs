using System.Text;
using System.Xml.Linq;
using SecureMx.Config;
using SecureMx.Dashboard;

namespace SecureMx.Tests.Dashboard;

/// <summary>The clientConfig 1.1 file, read back as XML the way a mail program reads it.</summary>
public sealed class AutoconfigDocumentTests
{
    private static readonly MailClientService Imaps = new(MailClientProtocol.Imap, MailClientSecurity.ImplicitTls, "mail.provider.test", 993, "mailAccess.imaps");
    private static readonly MailClientService Imap = new(MailClientProtocol.Imap, MailClientSecurity.StartTls, "mail.provider.test", 143, "mailAccess.imap");
    private static readonly MailClientService Pop3s = new(MailClientProtocol.Pop3, MailClientSecurity.ImplicitTls, "mail.provider.test", 995, "mailAccess.pop3s");
    private static readonly MailClientService Submissions = new(MailClientProtocol.Smtp, MailClientSecurity.ImplicitTls, "mail.provider.test", 465, "listeners.submissions");
    private static readonly MailClientService Submission = new(MailClientProtocol.Smtp, MailClientSecurity.StartTls, "mail.provider.test", 587, "listeners.submission");

    private static XElement Provider(byte[] xml)
    {
        var doc = XDocument.Parse(Encoding.UTF8.GetString(xml));
        Assert.Equal("clientConfig", doc.Root!.Name.LocalName);
        Assert.Equal("1.1", (string?)doc.Root.Attribute("version"));
        return Assert.Single(doc.Root.Elements("emailProvider"));
    }

    private static string Server(XElement e) =>
        $"{e.Name.LocalName} {(string?)e.Attribute("type")} {(string?)e.Element("hostname")}:{(string?)e.Element("port")} {(string?)e.Element("socketType")} " +
        $"{(string?)e.Element("username")} {(string?)e.Element("authentication")}";

    [Fact]
    public void TheProviderIsTheDomainWithItsIncomingServersFirstThenTheOutgoingOnes()
    {
        // Given in an order the file must not keep: outgoing first.
        var provider = Provider(AutoconfigDocument.Write("example.org", [Submissions, Submission, Imaps, Imap, Pop3s]));

        Assert.Equal("example.org", (string?)provider.Attribute("id"));
        Assert.Equal(["example.org"], provider.Elements("domain").Select(d => d.Value));
        Assert.Equal("example.org", (string?)provider.Element("displayName"));
        Assert.Equal(
        [
            "incomingServer imap mail.provider.test:993 SSL %EMAILADDRESS% password-cleartext",
            "incomingServer imap mail.provider.test:143 STARTTLS %EMAILADDRESS% password-cleartext",
            "incomingServer pop3 mail.provider.test:995 SSL %EMAILADDRESS% password-cleartext",
            "outgoingServer smtp mail.provider.test:465 SSL %EMAILADDRESS% password-cleartext",
            "outgoingServer smtp mail.provider.test:587 STARTTLS %EMAILADDRESS% password-cleartext",
        ], provider.Elements().Where(e => e.Name.LocalName.EndsWith("Server", StringComparison.Ordinal)).Select(Server));
    }

    [Fact]
    public void OnlyTheServicesGivenAppear()
    {
        var provider = Provider(AutoconfigDocument.Write("example.org", [Imaps, Submission]));
        Assert.Equal(["imap"], provider.Elements("incomingServer").Select(e => (string?)e.Attribute("type")));
        Assert.Equal(["587"], provider.Elements("outgoingServer").Select(e => (string?)e.Element("port")));
    }

    [Fact]
    public void MarkupInANameIsEscapedNotInterpreted()
    {
        var odd = Imaps with { Host = "mail<x>&\"'.test" };
        var provider = Provider(AutoconfigDocument.Write("a&b.test", [odd, Submission]));
        Assert.Equal("a&b.test", (string?)provider.Attribute("id"));
        Assert.Equal("mail<x>&\"'.test", (string?)provider.Element("incomingServer")!.Element("hostname"));
    }

    [Fact]
    public void TheFileIsUtf8WithADeclarationAndNoByteOrderMark()
    {
        var xml = AutoconfigDocument.Write("example.org", [Imaps, Submission]);
        Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-8\"?>", Encoding.UTF8.GetString(xml));
        Assert.NotEqual(0xEF, xml[0]);
    }
}
