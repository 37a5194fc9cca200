using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using SecureMx.Spool;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// MailKit's SmtpClient set up the way a mail program is for a provider with a self-signed certificate:
/// the certificate is pinned (it must be the instance's tls/cert.pem and name its hostname), never accepted
/// blindly. Every line of the session is recorded, so tests can check the server's exact replies.
/// </summary>
public sealed partial class SubmissionClient : IDisposable
{
    public const string Password = "password123";

    private readonly MemoryStream _transcript = new();
    public SmtpClient Smtp { get; }

    /// <summary>The validation callback ran and the server's certificate was the pinned one.</summary>
    public bool CertificatePinMatched { get; private set; }

    private SubmissionClient(X509Certificate2 pinned)
    {
        Smtp = new SmtpClient(new ProtocolLogger(_transcript, leaveOpen: true)) { CheckCertificateRevocation = false, Timeout = 30_000 };
        Smtp.ServerCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            // The chain cannot be trusted (self-signed): the pin replaces it. The name must still match.
            CertificatePinMatched = certificate is not null
                && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData)
                && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
            return CertificatePinMatched;
        };
    }

    /// <summary>
    /// Connects to <paramref name="endpoint"/> under the instance's hostname (used for SNI and the name check):
    /// SslOnConnect for the submissions port, StartTls for the submission port, None for plaintext.
    /// </summary>
    public static async Task<SubmissionClient> ConnectAsync(SecureMxInstance mx, IPEndPoint endpoint, SecureSocketOptions options)
    {
        var client = new SubmissionClient(X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(mx.CertificatePath)));
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint);
            await client.Smtp.ConnectAsync(socket, mx.Hostname, endpoint.Port, options);
            return client;
        }
        catch
        {
            socket.Dispose();
            client.Dispose();
            throw;
        }
    }

    /// <summary>The submission port for StartTls/None, the submissions port for SslOnConnect.</summary>
    public static Task<SubmissionClient> ConnectAsync(SecureMxInstance mx, SecureSocketOptions options) =>
        ConnectAsync(mx, (options == SecureSocketOptions.SslOnConnect ? mx.Submissions : mx.Submission)
            ?? throw new InvalidOperationException("the instance was created without submission listeners"), options);

    /// <summary>Connects and logs in with a password, as a mail program does; PLAIN or LOGIN when named.</summary>
    public static async Task<SubmissionClient> LoginAsync(SecureMxInstance mx, SecureSocketOptions options, string user, string password = Password, string? mechanism = null)
    {
        var client = await ConnectAsync(mx, options);
        try
        {
            await client.AuthenticateAsync(user, password, mechanism);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    public Task AuthenticateAsync(string user, string password, string? mechanism = null) => mechanism switch
    {
        null => Smtp.AuthenticateAsync(user, password),
        "PLAIN" => Smtp.AuthenticateAsync(new SaslMechanismPlain(user, password)),
        "LOGIN" => Smtp.AuthenticateAsync(new SaslMechanismLogin(user, password)),
        _ => throw new ArgumentException("unknown mechanism " + mechanism),
    };

    /// <summary>Sends with an explicit envelope (MAIL FROM <paramref name="sender"/>, "" for the null sender); returns the queue id.</summary>
    public async Task<string> SendAsync(MimeMessage message, string sender, params string[] recipients)
    {
        var reply = await Smtp.SendAsync(FormatOptions.Default, message, new MailboxAddress("", sender), recipients.Select(r => new MailboxAddress("", r)));
        var id = QueuedAs().Match(reply);
        Assert.True(id.Success, "no queue id in the reply to DATA: " + reply);
        return id.Groups[1].Value;
    }

    /// <summary>A small text message whose subject and body carry <paramref name="token"/>.</summary>
    public static MimeMessage Message(string token, string from, params string[] to)
    {
        var m = new MimeMessage { Subject = token, MessageId = token + "@client.test", Body = new TextPart("plain") { Text = $"body of {token}\r\n" } };
        m.From.AddRange(from.Split(',').Select(a => MailboxAddress.Parse(a.Trim())));
        m.To.AddRange(to.Select(MailboxAddress.Parse));
        return m;
    }

    public static string Token() => "t" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>The session as MailKit logged it: "C: " lines from the client, "S: " lines from the server.</summary>
    public string Transcript => Encoding.UTF8.GetString(_transcript.ToArray());

    /// <summary>The server's reply lines, without the "S: " prefix.</summary>
    public IReadOnlyList<string> ServerLines => Transcript.Split('\n')
        .Where(l => l.StartsWith("S: ", StringComparison.Ordinal))
        .Select(l => l[3..].TrimEnd('\r'))
        .ToList();

    /// <summary>The last reply line from the server starting with <paramref name="code"/>, or null.</summary>
    public string? LastReply(string code) => ServerLines.LastOrDefault(l => l.StartsWith(code, StringComparison.Ordinal));

    [GeneratedRegex("queued as ([0-9A-Z]{16})")]
    private static partial Regex QueuedAs();

    public void Dispose()
    {
        Smtp.Dispose();
        _transcript.Dispose();
    }
}
