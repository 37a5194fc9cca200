using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Net.Pop3;
using MailKit.Security;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// IMAP and POP3 clients as a mail program uses them (MailKit, which Thunderbird-like clients
/// resemble closely enough): the instance's certificate pinned, its host name checked.
/// </summary>
public static class MailReader
{
    public static async Task<ImapClient> ImapAsync(SecureMxInstance mx, IPEndPoint endpoint, SecureSocketOptions security)
    {
        var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(mx.CertificatePath));
        var client = new ImapClient { CheckCertificateRevocation = false, Timeout = 30_000 };
        client.ServerCertificateValidationCallback = (_, c, _, errors) => Pinned(c, pinned, errors);
        await ConnectAsync(client, mx, endpoint, security);
        return client;
    }

    public static async Task<Pop3Client> Pop3Async(SecureMxInstance mx, IPEndPoint endpoint, SecureSocketOptions security)
    {
        var pinned = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(mx.CertificatePath));
        var client = new Pop3Client { CheckCertificateRevocation = false, Timeout = 30_000 };
        client.ServerCertificateValidationCallback = (_, c, _, errors) => Pinned(c, pinned, errors);
        await ConnectAsync(client, mx, endpoint, security);
        return client;
    }

    /// <summary>Logs in over IMAPS and returns the client, or throws MailKit's AuthenticationException.</summary>
    public static async Task<ImapClient> ImapLoginAsync(SecureMxInstance mx, IPEndPoint imaps, string user, string password)
    {
        var client = await ImapAsync(mx, imaps, SecureSocketOptions.SslOnConnect);
        try
        {
            await client.AuthenticateAsync(user, password);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Whether an IMAPS login with these credentials succeeds.</summary>
    public static async Task<bool> ImapLoginWorksAsync(SecureMxInstance mx, IPEndPoint imaps, string user, string password)
    {
        try
        {
            using var client = await ImapLoginAsync(mx, imaps, user, password);
            await client.DisconnectAsync(true);
            return true;
        }
        catch (AuthenticationException)
        {
            return false;
        }
    }

    private static async Task ConnectAsync(MailService client, SecureMxInstance mx, IPEndPoint endpoint, SecureSocketOptions security)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint);
            await client.ConnectAsync(socket, mx.Hostname, endpoint.Port, security);
        }
        catch
        {
            socket.Dispose();
            client.Dispose();
            throw;
        }
    }

    // The chain cannot be trusted (self-signed): the pin replaces it. The name must still match.
    private static bool Pinned(X509Certificate? certificate, X509Certificate2 pinned, SslPolicyErrors errors) =>
        certificate is not null && certificate.GetRawCertData().AsSpan().SequenceEqual(pinned.RawData)
        && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
}
