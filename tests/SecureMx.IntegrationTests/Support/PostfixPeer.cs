using System.Net;
using System.Text.RegularExpressions;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Support;

/// <summary>A private Postfix instance on a loopback address (tests/peers/postfix-peer.sh).</summary>
public sealed class PostfixPeer : IAsyncDisposable
{
    public string Dir { get; }
    public string Listen { get; }

    private PostfixPeer(string dir, string listen)
    {
        Dir = dir;
        Listen = listen;
    }

    public static string Script => Path.Combine(Run.RepoRoot, "tests", "peers", "postfix-peer.sh");

    /// <summary>Starts an instance (see the script's header for the roles and options).</summary>
    /// <param name="certFile">
    /// With TLS: PEM leaf (+ chain) to serve (--cert); needs <paramref name="keyFile"/>. Without one, the peer serves a
    /// self-signed RSA 2048 certificate for <paramref name="hostname"/> from the test certificates (RSA, because the
    /// "weak" peer's TLS 1.0 suites need RSA key exchange).
    /// </param>
    /// <param name="keyFile">The PEM private key of <paramref name="certFile"/> (--key).</param>
    /// <param name="resolver">dane-sender: IPv4 address of the validating resolver (--resolver), e.g. the test bed's NET.2.</param>
    /// <param name="smtpPort">dane-sender: the port its client connects to on each MX (--smtp-port; default 25).</param>
    public static async Task<PostfixPeer> StartAsync(string listen, string role, string? relay = null, bool tls = false, string hostname = "peer.test",
        string? domains = null, string? rcptReply = null, string? tlsMode = null, string[]? extra = null,
        string? certFile = null, string? keyFile = null, string? resolver = null, int? smtpPort = null)
    {
        Assert.True(Run.Exists("postfix"), "postfix is not installed: run scripts/install-test-deps.sh");
        var dir = Path.Combine(Path.GetTempPath(), "securemx-pf-" + Guid.NewGuid().ToString("N")[..10]);
        tlsMode ??= tls ? "yes" : "no";
        // the script copies the files into the instance: they need not outlive the start
        using var ownCertificate = tlsMode != "no" && certFile is null ? TestCertificates.SelfSigned(hostname, TestKeyType.Rsa2048) : null;
        string? ownCertificateDir = null;
        if (ownCertificate is not null)
        {
            ownCertificateDir = Directory.CreateTempSubdirectory("securemx-pf-cert-").FullName;
            (certFile, keyFile, _) = ownCertificate.WritePem(ownCertificateDir);
        }
        var args = new List<string> { Script, "start", dir, "--listen", listen, "--role", role, "--hostname", hostname, "--tls", tlsMode };
        if (relay is not null) args.AddRange(["--relay", relay]);
        if (domains is not null) args.AddRange(["--domains", domains]);
        if (rcptReply is not null) args.AddRange(["--rcpt-reply", rcptReply]);
        if (certFile is not null) args.AddRange(["--cert", certFile]);
        if (keyFile is not null) args.AddRange(["--key", keyFile]);
        if (resolver is not null) args.AddRange(["--resolver", resolver]);
        if (smtpPort is not null) args.AddRange(["--smtp-port", smtpPort.Value.ToString()]);
        if (extra is not null) args.AddRange(extra);
        ProcessResult r;
        try
        {
            r = await Run.ProcessAsync("bash", args, timeout: TimeSpan.FromSeconds(60));
        }
        finally
        {
            if (ownCertificateDir is not null) Directory.Delete(ownCertificateDir, recursive: true);
        }
        Assert.True(r.ExitCode == 0, "postfix-peer.sh start failed: " + r.All);
        return new PostfixPeer(dir, listen);
    }

    /// <summary>
    /// A receiving "mailbox" peer with STARTTLS that serves <paramref name="certificate"/> (leaf + chain, as
    /// written by <see cref="TestCertificate.WritePem"/>), or its own self-signed certificate if null.
    /// </summary>
    public static Task<PostfixPeer> StartMailboxAsync(string listen, string hostname, string domains, TestCertificateFiles? certificate = null, string tlsMode = "yes") =>
        StartAsync(listen, "mailbox", hostname: hostname, domains: domains, tlsMode: tlsMode,
            certFile: certificate?.CertFile, keyFile: certificate?.KeyFile);

    /// <summary>
    /// The DANE reference sender: delivers by MX lookup through <paramref name="resolver"/> with
    /// smtp_tls_security_level = dane (role dane-sender). Give it mail with <see cref="InjectAsync"/>.
    /// </summary>
    public static Task<PostfixPeer> StartDaneSenderAsync(string listen, IPAddress resolver, string hostname = "sender.test", int? smtpPort = null) =>
        StartAsync(listen, "dane-sender", hostname: hostname, resolver: resolver.ToString(), smtpPort: smtpPort);

    /// <summary>
    /// Hands one message to this instance over SMTP (swaks to <see cref="Listen"/>, no TLS); its Subject
    /// and body carry <paramref name="token"/>. Fails the test if the instance does not accept it.
    /// </summary>
    public async Task InjectAsync(string from, string to, string token)
    {
        var r = await Run.ProcessAsync("swaks", ["--server", Listen, "--from", from, "--to", to, "--helo", "client.test",
            "--header", $"Subject: test {token}", "--timeout", "30"], timeout: TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, $"swaks to the Postfix peer {Listen} failed: {r.All}");
    }

    /// <summary>
    /// Waits for the first delivery attempt of mail to <paramref name="recipient"/> that has a result
    /// ("to=&lt;recipient&gt;, relay=..., dsn=..., status=sent|deferred|bounced (...)") and returns that log line.
    /// </summary>
    public async Task<string> WaitForDeliveryAsync(string recipient, TimeSpan timeout)
    {
        var pattern = new Regex(@"^.*\bto=<" + Regex.Escape(recipient) + @">,.*\bstatus=\w+.*$", RegexOptions.Multiline | RegexOptions.IgnoreCase);
        var log = await WaitForLogAsync(pattern, timeout);
        return pattern.Match(log).Value.TrimEnd('\r');
    }

    /// <summary>Waits until the peer's log matches <paramref name="pattern"/>; returns the whole log.</summary>
    public async Task<string> WaitForLogAsync(Regex pattern, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var log = MailLog;
            if (pattern.IsMatch(log)) return log;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"/{pattern}/ not in the log of the Postfix peer {Listen}:\n{log}");
            await Task.Delay(100);
        }
    }

    /// <summary>The queue as Postfix sees it (postqueue -j): one JSON object per line, empty if the queue is empty.</summary>
    public async Task<string> QueueJsonAsync()
    {
        var r = await Run.ProcessAsync("bash", [Script, "queue", Dir], timeout: TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, "postfix-peer.sh queue failed: " + r.All);
        return r.StdOut;
    }

    /// <summary>Retries deferred mail now (postqueue -f).</summary>
    public async Task FlushAsync()
    {
        var r = await Run.ProcessAsync("bash", [Script, "flush", Dir], timeout: TimeSpan.FromSeconds(30));
        Assert.True(r.ExitCode == 0, "postfix-peer.sh flush failed: " + r.All);
    }

    /// <summary>
    /// Runs a command in the instance's mount namespace (for a dane-sender: resolving through its
    /// resolver) with MAIL_CONFIG set, e.g. <c>ExecAsync("posttls-finger", "-c", "-l", "dane", domain)</c>.
    /// </summary>
    public Task<ProcessResult> ExecAsync(params string[] command) =>
        Run.ProcessAsync("bash", [Script, "exec", Dir, .. command], timeout: TimeSpan.FromSeconds(60));

    /// <summary>Messages stored by a "mailbox" peer (all recipients share one Maildir), as text.</summary>
    public string[] StoredMessages()
    {
        var dir = Path.Combine(Dir, "mail", "any", "new");
        return Directory.Exists(dir) ? Directory.GetFiles(dir).Select(File.ReadAllText).ToArray() : [];
    }

    public async Task<string> WaitForMessageAsync(string token, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var found = StoredMessages().FirstOrDefault(m => m.Contains(token, StringComparison.Ordinal));
            if (found is not null) return found;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no message with {token} at the Postfix peer {Listen}; its log:\n{MailLog}");
            await Task.Delay(200);
        }
    }

    public string MailLog => File.Exists(Path.Combine(Dir, "maillog")) ? File.ReadAllText(Path.Combine(Dir, "maillog")) : "";

    /// <summary>Waits until the peer's log contains <paramref name="text"/>.</summary>
    public async Task<string> WaitForLogAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!MailLog.Contains(text, StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{text}' not in the Postfix log:\n{MailLog}");
            await Task.Delay(200);
        }
        return MailLog;
    }

    public async ValueTask DisposeAsync()
    {
        await Run.ProcessAsync("bash", [Script, "stop", Dir], timeout: TimeSpan.FromSeconds(60));
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
