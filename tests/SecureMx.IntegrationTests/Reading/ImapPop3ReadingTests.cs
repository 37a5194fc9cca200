using System.Net;
using System.Net.Sockets;
using SslProtocols = System.Security.Authentication.SslProtocols;
using System.Text;
using MailKit;
using MailKit.Search;
using MailKit.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.Data.Sqlite;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// Mail clients read their mail through the Dovecot `securemx dovecot-config` configures: over TLS
/// only, with the SecureMx account's one password, and under the same login throttle as SMTP AUTH.
/// The browser drives the instance's dashboard (see the DashboardPasswordChange part).
/// </summary>
public sealed partial class ImapPop3ReadingTests(DovecotFixture f, BrowserFixture browser)
    : IClassFixture<DovecotFixture>, IClassFixture<BrowserFixture>
{
    private const string Password = "password123";
    private static string A(string local) => $"{local}@{DovecotFixture.Domain}";

    /// <summary>Sends <paramref name="message"/> (CRLF lines, ending in CRLF, no final dot) to the MX exactly as given; returns the bytes sent as the message.</summary>
    private async Task<byte[]> ReceiveOverSmtpAsync(string recipient, string message)
    {
        await using var smtp = await RawSmtp.ConnectAsync(f.Mx.Mx);
        await smtp.ReadReplyAsync();
        Assert.StartsWith("250", await smtp.CommandAsync("EHLO client.example"));
        Assert.StartsWith("250", await smtp.CommandAsync("MAIL FROM:<sender@example.org> BODY=8BITMIME"));
        Assert.StartsWith("250", await smtp.CommandAsync($"RCPT TO:<{recipient}>"));
        Assert.StartsWith("354", await smtp.CommandAsync("DATA"));
        var bytes = Encoding.UTF8.GetBytes(message);
        // Dot-stuffing on the wire; the message itself keeps its leading dots.
        await smtp.SendAsync(Encoding.UTF8.GetBytes(message.Replace("\r\n.", "\r\n..", StringComparison.Ordinal) + ".\r\n"));
        Assert.StartsWith("250", string.Join("\n", await smtp.ReadReplyAsync()));
        return bytes;
    }

    private static string Message(string token, string to) =>
        $"From: Sender <sender@example.org>\r\nTo: <{to}>\r\nSubject: reading test {token}\r\nMessage-ID: <{token}@example.org>\r\n" +
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
        $"Grüße aus dem Test {token}.\r\n.a line that starts with a dot\r\n\r\n  trailing spaces  \r\nend\r\n";

    [Fact]
    public async Task AMessageReceivedOverSmtpIsFetchedByteExactOverImapsWithTheAccountPassword()
    {
        var token = SubmissionClient.Token();
        var sent = await ReceiveOverSmtpAsync(A("alice"), Message(token, A("alice")));
        using var imap = await MailReader.ImapLoginAsync(f.Mx, f.Dovecot.Imaps, A("alice"), Password);
        Assert.True(imap.IsSecure);
        var inbox = imap.Inbox;
        await inbox.OpenAsync(FolderAccess.ReadOnly);
        var uids = await WaitForAsync(async () => await inbox.SearchAsync(SearchQuery.HeaderContains("Message-ID", token)), u => u.Count == 1);
        await using var stream = await inbox.GetStreamAsync(uids[0], "");
        var fetched = await ReadAllAsync(stream);
        // What the client sent, unchanged, after the trace headers SecureMx (and an LMTP server) put on top.
        Assert.True(EndsWith(fetched, sent), "the fetched message does not end with the bytes sent:\n" + Encoding.UTF8.GetString(fetched));
        Assert.StartsWith("Return-Path: <sender@example.org>", Encoding.UTF8.GetString(fetched));
        Assert.Contains($"to=<{A("alice")}> relay=lmtp", f.Mx.Log); // dovecot-config switched delivery to LMTP
        await imap.DisconnectAsync(true);
    }

    [Fact]
    public async Task AMessageIsFetchedByteExactOverPop3s()
    {
        var token = SubmissionClient.Token();
        var sent = await ReceiveOverSmtpAsync(A("pop"), Message(token, A("pop")));
        await f.Mx.WaitForMessageAsync(A("pop"), token);
        using var pop = await MailReader.Pop3Async(f.Mx, f.Dovecot.Pop3s, SecureSocketOptions.SslOnConnect);
        await pop.AuthenticateAsync(A("pop"), Password);
        byte[]? fetched = null;
        for (int i = 0; i < pop.Count && fetched is null; i++)
        {
            await using var stream = await pop.GetStreamAsync(i);
            var bytes = await ReadAllAsync(stream);
            if (Encoding.UTF8.GetString(bytes).Contains(token, StringComparison.Ordinal)) fetched = bytes;
        }
        Assert.NotNull(fetched);
        Assert.True(EndsWith(fetched, sent), "the fetched message does not end with the bytes sent:\n" + Convert.ToHexString(fetched[^Math.Min(80, fetched.Length)..]) + "\n" + Convert.ToHexString(sent[^80..]));
        await pop.DisconnectAsync(true);
    }

    [Fact]
    public async Task Imap143RefusesLoginAndAuthenticateBeforeStartTlsAndAcceptsThemAfter()
    {
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(f.Dovecot.Imap);
            var s = raw.GetStream();
            var greeting = await ReadLineAsync(s);
            Assert.Contains("LOGINDISABLED", greeting);
            Assert.Contains("STARTTLS", greeting);
            await WriteAsync(s, $"a1 LOGIN {A("alice")} {Password}\r\n");
            var reply = await ReadUntilTaggedAsync(s, "a1");
            Assert.Matches(@"^a1 (NO|BAD)", reply);
            await WriteAsync(s, "a2 AUTHENTICATE PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{A("alice")}\0{Password}")) + "\r\n");
            Assert.Matches(@"^a2 (NO|BAD)", await ReadUntilTaggedAsync(s, "a2"));
        }
        using var imap = await MailReader.ImapAsync(f.Mx, f.Dovecot.Imap, SecureSocketOptions.StartTls);
        await imap.AuthenticateAsync(A("alice"), Password);
        Assert.True(imap.IsSecure);
        await imap.DisconnectAsync(true);
    }

    [Fact]
    public async Task Pop3On110RefusesUserAndPassBeforeStlsAndAcceptsThemAfter()
    {
        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(f.Dovecot.Pop3);
            var s = raw.GetStream();
            Assert.StartsWith("+OK", await ReadLineAsync(s));
            await WriteAsync(s, $"USER {A("pop")}\r\n");
            Assert.StartsWith("-ERR", await ReadLineAsync(s));
            await WriteAsync(s, $"PASS {Password}\r\n");
            Assert.StartsWith("-ERR", await ReadLineAsync(s));
        }
        using var pop = await MailReader.Pop3Async(f.Mx, f.Dovecot.Pop3, SecureSocketOptions.StartTls);
        await pop.AuthenticateAsync(A("pop"), Password);
        Assert.True(pop.IsSecure);
        await pop.DisconnectAsync(true);
    }

    [Fact]
    public async Task TheListenersSpeakOnlyTheStrictProfileWithTheInstanceCertificate()
    {
        using (var imap = await MailReader.ImapAsync(f.Mx, f.Dovecot.Imaps, SecureSocketOptions.SslOnConnect))
        {
            Assert.True(imap.SslProtocol is SslProtocols.Tls12 or SslProtocols.Tls13, imap.SslProtocol.ToString());
            await imap.DisconnectAsync(true);
        }
        foreach (var ep in new[] { f.Dovecot.Imaps, f.Dovecot.Pop3s })
        {
            var target = Net.Text(ep);
            Assert.True((await OpenSslAsync(target, "-tls1_2")).ExitCode == 0, "TLS 1.2 must work on " + target);
            Assert.True((await OpenSslAsync(target, "-tls1_1")).ExitCode != 0, "TLS 1.1 must be refused on " + target);
            // RSA key exchange and CBC: not in the strict profile.
            Assert.True((await OpenSslAsync(target, "-tls1_2", "-cipher", "AES128-SHA")).ExitCode != 0, "a non-ECDHE, non-AEAD suite must be refused on " + target);
            Assert.True((await OpenSslAsync(target, "-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA")).ExitCode != 0, "a CBC suite must be refused on " + target);
        }
    }

    [Fact]
    public async Task AWrongPasswordAndAnUnknownAccountAreRefused()
    {
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("frank"), "not-the-password"));
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("nobody"), Password));
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("frank"), Password));
        using var pop = await MailReader.Pop3Async(f.Mx, f.Dovecot.Pop3s, SecureSocketOptions.SslOnConnect);
        await Assert.ThrowsAsync<AuthenticationException>(() => pop.AuthenticateAsync(A("frank"), "not-the-password"));
    }

    [Fact]
    public async Task AfterMailboxPasswdTheOldPasswordIsRefusedAndTheNewOneWorksAtTheNextLogin()
    {
        using var before = await MailReader.ImapLoginAsync(f.Mx, f.Dovecot.Imaps, A("bob"), Password);
        var r = await Run.SecureMxWithStdinAsync("a-new-secret-99\n", "mailbox", "passwd", A("bob"), "--password-stdin", "--data", f.Mx.DataDir);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("bob"), Password));
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("bob"), "a-new-secret-99"));
        // The same password for submission: one password everywhere.
        using var smtp = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, A("bob"), "a-new-secret-99");
        // root ran the command; the store's files still belong to the instance's user.
        foreach (var file in Directory.GetFiles(f.Mx.DataDir)) Assert.Equal(DovecotFixture.Owner, await OwnerOfAsync(file));
    }

    [Fact]
    public async Task MailboxRemoveEndsImapAccess()
    {
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("carol"), Password));
        await f.Mx.CliOk("mailbox", "remove", A("carol"));
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("carol"), Password));
    }

    [Fact]
    public async Task FailedImapLoginsCountInTheThrottleSmtpAuthUses()
    {
        for (int i = 0; i < DovecotFixture.MaxFailuresPerAccount; i++)
            Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("eve"), "guess-" + i));
        // Blocked now everywhere, the right password included: IMAP, POP3 and submission.
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("eve"), Password));
        using (var pop = await MailReader.Pop3Async(f.Mx, f.Dovecot.Pop3s, SecureSocketOptions.SslOnConnect))
            await Assert.ThrowsAsync<AuthenticationException>(() => pop.AuthenticateAsync(A("eve"), Password));
        using var smtp = await SubmissionClient.ConnectAsync(f.Mx, SecureSocketOptions.SslOnConnect);
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => smtp.AuthenticateAsync(A("eve"), Password));
        Assert.Equal(454, (int)Assert.IsType<MailKit.Net.Smtp.SmtpCommandException>(refused.InnerException).StatusCode);
        await f.Mx.WaitForLogAsync($"IMAP login from 127.0.0.1 for {A("eve")} failed");
        await f.Mx.WaitForLogAsync("too many failed logins for this account");
        // Other accounts are not affected.
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("dave"), Password));
    }

    [Fact]
    public async Task AnAccountWithAnOlderHashReadsMailAfterOneSubmissionLogin()
    {
        // A hash as releases before Argon2id stored it (ASP.NET Identity PBKDF2), which Dovecot cannot check.
        var hasher = new PasswordHasher<object>();
        var legacy = hasher.HashPassword(new object(), Password);
        await using (var db = new SqliteConnection($"Data Source={Path.Combine(f.Mx.DataDir, "securemx.db")};Pooling=False"))
        {
            await db.OpenAsync();
            var cmd = db.CreateCommand();
            cmd.CommandText = "UPDATE mailboxes SET password_hash=$h WHERE address=$a";
            cmd.Parameters.AddWithValue("$h", legacy);
            cmd.Parameters.AddWithValue("$a", A("legacy"));
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
        }
        Assert.False(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("legacy"), Password));
        using (var smtp = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, A("legacy"), Password)) { }
        Assert.True(await MailReader.ImapLoginWorksAsync(f.Mx, f.Dovecot.Imaps, A("legacy"), Password));
    }

    [Fact]
    public void NoPasswordIsInTheLogsOfEitherServer()
    {
        Assert.DoesNotContain(Password, f.Mx.Log);
        Assert.DoesNotContain(Password, f.Dovecot.Log);
    }

    private static async Task<T> WaitForAsync<T>(Func<Task<T>> get, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var value = await get();
            if (done(value) || DateTime.UtcNow > deadline) return value;
            await Task.Delay(200);
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream s)
    {
        using var ms = new MemoryStream();
        await s.CopyToAsync(ms);
        return ms.ToArray();
    }

    private static bool EndsWith(byte[] whole, byte[] tail) => whole.Length >= tail.Length && whole.AsSpan(whole.Length - tail.Length).SequenceEqual(tail);

    private static Task<ProcessResult> OpenSslAsync(string target, params string[] options) =>
        Run.ProcessAsync("openssl", ["s_client", "-connect", target, .. options], stdin: "", timeout: TimeSpan.FromSeconds(20));

    private static async Task<string> OwnerOfAsync(string path) => (await Run.ProcessAsync("stat", ["-c", "%U", path])).StdOut.Trim();

    private static Task WriteAsync(NetworkStream s, string text) => s.WriteAsync(Encoding.ASCII.GetBytes(text)).AsTask();

    private static async Task<string> ReadLineAsync(NetworkStream s)
    {
        var line = new List<byte>();
        var one = new byte[1];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (await s.ReadAsync(one, cts.Token) == 1)
        {
            if (one[0] == '\n') break;
            line.Add(one[0]);
        }
        return Encoding.UTF8.GetString(line.ToArray()).TrimEnd('\r');
    }

    private static async Task<string> ReadUntilTaggedAsync(NetworkStream s, string tag)
    {
        while (true)
        {
            var line = await ReadLineAsync(s);
            if (line.StartsWith(tag + " ", StringComparison.Ordinal) || line.Length == 0) return line;
        }
    }
}
