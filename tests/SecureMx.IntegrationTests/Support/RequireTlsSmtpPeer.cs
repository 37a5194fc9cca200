using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A receiver that advertises REQUIRETLS (RFC 8689), which Postfix does not: STARTTLS in plaintext,
/// REQUIRETLS only inside TLS (as the RFC has it), and it records every MAIL FROM line and every
/// message it takes. Minimal on purpose: no PIPELINING, one recipient list per transaction, always 250.
/// </summary>
public sealed class RequireTlsSmtpPeer : LoopbackTcpServer
{
    private readonly string _hostname;
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentQueue<string> _mailFrom = new();
    private readonly ConcurrentQueue<string> _messages = new();

    /// <summary>Every MAIL FROM command line as it arrived, and whether it came over TLS ("tls: " before it).</summary>
    public IReadOnlyList<string> MailFromLines => _mailFrom.ToArray();

    /// <summary>The messages taken, as received (dot-stuffing removed).</summary>
    public IReadOnlyList<string> Messages => _messages.ToArray();

    public RequireTlsSmtpPeer(IPEndPoint endpoint, string hostname, X509Certificate2 certificateWithKey) : base(endpoint)
    {
        _hostname = hostname;
        _certificate = certificateWithKey;
        StartAccepting();
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                var reader = new StreamReader(stream, Encoding.Latin1);
                bool tls = false;
                async Task Say(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
                await Say($"220 {_hostname} ESMTP test peer");
                while (await reader.ReadLineAsync() is { } line)
                {
                    var verb = line.Split(' ')[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            await Say($"250-{_hostname}");
                            await Say("250-8BITMIME");
                            await Say(tls ? "250 REQUIRETLS" : "250 STARTTLS");
                            break;
                        case "STARTTLS" when !tls:
                            await Say("220 2.0.0 ready");
                            var ssl = new SslStream(stream);
                            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, Stopping);
                            stream = ssl;
                            reader = new StreamReader(stream, Encoding.Latin1);
                            tls = true;
                            break;
                        case "MAIL":
                            _mailFrom.Enqueue((tls ? "tls: " : "plain: ") + line);
                            await Say("250 2.1.0 ok");
                            break;
                        case "RCPT": case "RSET": case "NOOP": await Say("250 2.0.0 ok"); break;
                        case "DATA":
                            await Say("354 go ahead");
                            var message = new StringBuilder();
                            while (await reader.ReadLineAsync() is { } data && data != ".") message.Append(data.StartsWith('.') ? data[1..] : data).Append("\r\n");
                            _messages.Enqueue(message.ToString());
                            await Say("250 2.0.0 queued");
                            break;
                        case "QUIT": await Say("221 2.0.0 bye"); return;
                        default: await Say("502 5.5.2 not here"); break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
            {
            }
        }
    }
}
