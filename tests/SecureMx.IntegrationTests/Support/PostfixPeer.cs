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

    public static async Task<PostfixPeer> StartAsync(string listen, string role, string? relay = null, bool tls = false, string hostname = "peer.test",
        string? domains = null, string? rcptReply = null, string? tlsMode = null, string[]? extra = null)
    {
        Assert.True(Run.Exists("postfix"), "postfix is not installed: run scripts/install-test-deps.sh");
        var dir = Path.Combine(Path.GetTempPath(), "securemx-pf-" + Guid.NewGuid().ToString("N")[..10]);
        var args = new List<string> { Script, "start", dir, "--listen", listen, "--role", role, "--hostname", hostname, "--tls", tlsMode ?? (tls ? "yes" : "no") };
        if (relay is not null) args.AddRange(["--relay", relay]);
        if (domains is not null) args.AddRange(["--domains", domains]);
        if (rcptReply is not null) args.AddRange(["--rcpt-reply", rcptReply]);
        if (extra is not null) args.AddRange(extra);
        var r = await Run.ProcessAsync("bash", args, timeout: TimeSpan.FromSeconds(60));
        Assert.True(r.ExitCode == 0, "postfix-peer.sh start failed: " + r.All);
        return new PostfixPeer(dir, listen);
    }

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
