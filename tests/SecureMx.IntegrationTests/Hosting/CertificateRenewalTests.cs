using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Support;
using SecureMx.Tls;

namespace SecureMx.IntegrationTests.Hosting;

/// <summary>
/// A renewed certificate without a restart (issue 14, items 3 and 8): a real `securemx serve`, real
/// TLS clients, the certificate files replaced under load or broken and signalled with SIGHUP.
/// </summary>
public sealed class CertificateRenewalTests(ITestOutputHelper output)
{
    private static readonly string[] Mailboxes = ["alice@example.test", "bob@example.test", "carol@example.test", "dave@example.test"];
    private const int Sessions = 20;

    private sealed record Session(string Token, string To, string Thumbprint, long StartedAt);

    private static string Thumbprint(string certFile) => X509Certificate2.CreateFromPem(File.ReadAllText(certFile)).Thumbprint;

    private static MimeMessage Message(string token, string to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse("sender@elsewhere.test"));
        m.To.Add(MailboxAddress.Parse(to));
        m.Subject = token;
        m.MessageId = token + "@elsewhere.test";
        m.Body = new TextPart("plain") { Text = "renewal under load " + token };
        return m;
    }

    /// <summary>One session: connect, STARTTLS (noting the certificate presented), one message, QUIT.</summary>
    private static async Task<Session> SendAsync(IPEndPoint mx, string token, string to)
    {
        var started = Stopwatch.GetTimestamp();
        string? thumbprint = null;
        using var client = new SmtpClient { Timeout = 30_000, LocalDomain = "load.elsewhere.test" };
        client.ServerCertificateValidationCallback = (_, certificate, _, _) =>
        {
            thumbprint = certificate?.GetCertHashString();
            return true;
        };
        await client.ConnectAsync(mx.Address.ToString(), mx.Port, SecureSocketOptions.StartTls);
        await client.SendAsync(Message(token, to));
        await client.DisconnectAsync(quit: true);
        return new Session(token, to, thumbprint ?? throw new InvalidOperationException("no certificate presented"), started);
    }

    /// <summary>The certificate a TLS server at <paramref name="ep"/> presents in a handshake at connect (implicit TLS, HTTPS).</summary>
    private static async Task<string> ImplicitTlsThumbprintAsync(IPEndPoint ep)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(ep);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "mx.securemx.test" });
        return ssl.RemoteCertificate!.GetCertHashString();
    }

    [Fact]
    public async Task ACertificateReplacedUnderLoadServesNewSessionsWithoutAFailureOrALostMessage()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", Mailboxes, submission: true, dashboard: Net.FreeEndpoint());
        var certFile = mx.CertificatePath;
        var keyFile = Path.Combine(mx.DataDir, "tls", "key.pem");
        var oldThumbprint = Thumbprint(certFile);
        await mx.StartAsync();

        var sessions = new ConcurrentBag<Session>();
        var failures = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, Sessions).Select(i => Task.Run(async () =>
        {
            for (int n = 0; !stop.IsCancellationRequested; n++)
            {
                var token = $"renew-{i}-{n}-{Guid.NewGuid():N}"[..32];
                var to = Mailboxes[(i + n) % Mailboxes.Length];
                try
                {
                    sessions.Add(await SendAsync(mx.Mx, token, to));
                }
                catch (Exception ex)
                {
                    failures.Add($"{token}: {ex.GetType().Name}: {ex.Message}");
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(3));
        // A renewal with a new key, written as a tool does: the certificate, then a moment later the key.
        var (newCert, newKey) = CertificateFactory.CreateSelfSigned(mx.Hostname, TimeProvider.System);
        var newThumbprint = X509Certificate2.CreateFromPem(newCert).Thumbprint;
        await File.WriteAllTextAsync(certFile + ".new", newCert);
        File.Move(certFile + ".new", certFile, overwrite: true);
        await Task.Delay(TimeSpan.FromMilliseconds(700));
        await File.WriteAllTextAsync(keyFile + ".new", newKey);
        File.Move(keyFile + ".new", keyFile, overwrite: true);

        await mx.WaitForLogAsync("new connections now use");
        var swappedAt = Stopwatch.GetTimestamp();
        await Task.Delay(TimeSpan.FromSeconds(4));
        stop.Cancel();
        await Task.WhenAll(clients);

        var all = sessions.ToArray();
        var after = all.Where(s => s.StartedAt > swappedAt).ToArray();
        var before = all.Where(s => s.Thumbprint == oldThumbprint).ToArray();
        output.WriteLine($"{Sessions} clients: {all.Length} sessions, {before.Length} with the old certificate, " +
            $"{all.Count(s => s.Thumbprint == newThumbprint)} with the new one ({after.Length} started after the swap was logged), {failures.Count} failed");
        foreach (var f in failures.Take(10)) output.WriteLine("failure: " + f);

        Assert.True(failures.IsEmpty, $"{failures.Count} sessions failed, e.g. {string.Join("; ", failures.Take(5))}\n{mx.Log}");
        Assert.NotEmpty(before);
        Assert.True(after.Length >= Sessions, $"only {after.Length} sessions after the swap: the run proves nothing");
        Assert.All(after, s => Assert.Equal(newThumbprint, s.Thumbprint));
        Assert.All(all, s => Assert.Contains(s.Thumbprint, new[] { oldThumbprint, newThumbprint }));

        // The other TLS listeners take the new pair too: implicit-TLS submission and the dashboard's HTTPS.
        Assert.Equal(newThumbprint, await ImplicitTlsThumbprintAsync(mx.Submissions!));
        Assert.Equal(newThumbprint, await ImplicitTlsThumbprintAsync(mx.Dashboard!));

        // Every acknowledged message is delivered, once.
        foreach (var group in all.GroupBy(s => s.To))
        {
            var files = await mx.WaitForMessagesAsync(group.Key, group.Count(), TimeSpan.FromSeconds(120));
            var subjects = files.Select(f => MimeMessage.Load(f).Subject).ToList();
            Assert.Equal(group.Count(), subjects.Count);
            Assert.Equal(group.Select(s => s.Token).Order(), subjects.Order());
        }
    }

    [Fact]
    public async Task SighupWithABrokenKeyKeepsTheOldCertificateAndTheServerServingAndStillReloadsTheConfiguration()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", Mailboxes);
        var certFile = mx.CertificatePath;
        var keyFile = Path.Combine(mx.DataDir, "tls", "key.pem");
        var oldThumbprint = Thumbprint(certFile);
        await mx.StartAsync();
        var pid = mx.Pid;

        // A new certificate with a key file that is not a key, and a configuration change SIGHUP may apply.
        var (newCert, _) = CertificateFactory.CreateSelfSigned(mx.Hostname, TimeProvider.System);
        await File.WriteAllTextAsync(certFile, newCert);
        await File.WriteAllTextAsync(keyFile, "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n");
        var cfgPath = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(cfgPath))!;
        cfg["limits"]!["maxRecipients"] = 2;
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString());

        var kill = await Run.ProcessAsync("kill", ["-HUP", pid.ToString()]);
        Assert.True(kill.ExitCode == 0, kill.All);
        await mx.WaitForLogAsync("limits.maxRecipients changed from 100 to 2", TimeSpan.FromSeconds(20));
        await mx.WaitForLogMatchAsync(@"certificate \(SIGHUP\): \S+ \+ \S+ refused, the server keeps using the previous certificate");
        Assert.False(Process.GetProcessById(pid).HasExited, "SIGHUP ended the server:\n" + mx.Log);

        // Still serving, with the old certificate, and with the reloaded limit.
        var session = await SendAsync(mx.Mx, "after-a-broken-sighup", "alice@example.test");
        Assert.Equal(oldThumbprint, session.Thumbprint);
        await mx.WaitForMessageAsync("alice@example.test", "after-a-broken-sighup", TimeSpan.FromSeconds(30));
        await using (var smtp = await RawSmtp.ConnectAsync(mx.Mx))
        {
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO limits.elsewhere.test");
            Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<alice@example.test>"));
            Assert.StartsWith("250", await smtp.CommandAsync("RCPT TO:<bob@example.test>"));
            Assert.StartsWith("452", await smtp.CommandAsync("RCPT TO:<carol@example.test>"));
        }
        Assert.Equal(0, await mx.StopAsync());
    }
}
