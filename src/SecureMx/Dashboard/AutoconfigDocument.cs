using System.Globalization;
using System.Text;
using System.Xml;
using SecureMx.Config;

namespace SecureMx.Dashboard;

/// <summary>
/// The Mozilla autoconfig file ("clientConfig" version 1.1, which Thunderbird and other mail
/// programs fetch for an address) for one hosted domain: the incoming servers (IMAP before POP3),
/// then the outgoing SMTP servers, each with the full address as user name and a plain password
/// inside TLS. Written with <see cref="XmlWriter"/>, so nothing in a name can break the markup.
/// </summary>
public static class AutoconfigDocument
{
    /// <summary>The placeholder the client replaces with the address the user typed.</summary>
    public const string UserName = "%EMAILADDRESS%";

    public static byte[] Write(string domain, IEnumerable<MailClientService> services)
    {
        var ordered = services.Where(s => s.Incoming).Concat(services.Where(s => !s.Incoming)).ToList();
        using var buffer = new MemoryStream();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = true, NewLineChars = "\n" };
        using (var xml = XmlWriter.Create(buffer, settings))
        {
            xml.WriteStartDocument();
            xml.WriteStartElement("clientConfig");
            xml.WriteAttributeString("version", "1.1");
            xml.WriteStartElement("emailProvider");
            xml.WriteAttributeString("id", domain);
            xml.WriteElementString("domain", domain);
            xml.WriteElementString("displayName", domain);
            xml.WriteElementString("displayShortName", domain);
            foreach (var service in ordered)
            {
                xml.WriteStartElement(service.Incoming ? "incomingServer" : "outgoingServer");
                xml.WriteAttributeString("type", service.Protocol switch
                {
                    MailClientProtocol.Imap => "imap",
                    MailClientProtocol.Pop3 => "pop3",
                    _ => "smtp",
                });
                xml.WriteElementString("hostname", service.Host);
                xml.WriteElementString("port", service.Port.ToString(CultureInfo.InvariantCulture));
                xml.WriteElementString("socketType", service.Security == MailClientSecurity.ImplicitTls ? "SSL" : "STARTTLS");
                xml.WriteElementString("username", UserName);
                // The password as typed, inside the TLS connection: what Dovecot and SMTP AUTH PLAIN/LOGIN take.
                xml.WriteElementString("authentication", "password-cleartext");
                xml.WriteEndElement();
            }
            xml.WriteEndElement();
            xml.WriteEndElement();
            xml.WriteEndDocument();
        }
        return buffer.ToArray();
    }
}
