using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// The CLI on a full disk — a real tmpfs under the data directory, filled to the last page — while
/// the server is stopped, which is when an operator needs it: every command that only reads works
/// (the databases are opened read-only: after a clean stop from their files alone, after a kill with
/// what the write-ahead log holds), and every command that must write says "disk full" in one line
/// and exits 1.
/// </summary>
public sealed partial class FullDiskCommandTests
{
    private const string Owner = "securemx-test";

    [GeneratedRegex("queued as ([0-9A-Z]{16})")]
    private static partial Regex QueuedAs();

    /// <summary>Writes one file until the file system refuses (ENOSPC): not one page left.</summary>
    private static void Fill(string dir)
    {
        using var filler = new FileStream(Path.Combine(dir, "filler"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        foreach (var block in new[] { new byte[64 * 1024], new byte[4096] })
        {
            try
            {
                while (true) filler.Write(block);
            }
            catch (IOException ex) when (ex.HResult == 28)
            {
            }
        }
        Assert.Equal(0, new DriveInfo(dir).AvailableFreeSpace);
    }

    private static async Task<string> ReadsAsync(SecureMxInstance mx, params string[] args)
    {
        var r = await mx.Cli(args);
        Assert.True(r.ExitCode == 0, $"securemx {string.Join(' ', args)} on a full disk: exit {r.ExitCode}\n{r.All}");
        return r.StdOut;
    }

    /// <summary>Exit 1 and one line on stderr that says "disk full".</summary>
    private static void SaysDiskFull(ProcessResult r, string what)
    {
        Assert.True(r.ExitCode == 1, $"{what}: exit {r.ExitCode}\n{r.All}");
        Assert.StartsWith("securemx: disk full: ", r.StdErr, StringComparison.Ordinal);
        Assert.Single(r.StdErr.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task AfterACleanStopEveryReadCommandWorksAndEveryWriteSaysDiskFull()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        var sendmail = await Run.SecureMxWithStdinAsync("Subject: waiting\n\nbody\n", "sendmail", "--data", mx.DataDir, "bob@remote.test");
        Assert.True(sendmail.ExitCode == 0, sendmail.All);
        var id = QueuedAs().Match(sendmail.StdOut).Groups[1].Value;
        await mx.CliOk("alias", "add", "info@example.test", "alice@example.test");
        await mx.CliOk("admin", "add", "alice@example.test");
        await mx.CliOk("policy", "destination", "remote.test", "encrypt");
        await mx.CliOk("dkim", "add", "example.test", "--selector", "s1");
        await using var tmpfs = await TmpfsMount.MountAsync(mx.DataDir, "8m");
        Assert.False(File.Exists(Path.Combine(mx.DataDir, "securemx.db-shm"))); // closed cleanly: SQLite has to make its index to read
        Fill(mx.DataDir);

        Assert.Contains($"{id}", await ReadsAsync(mx, "queue", "list"));
        Assert.Contains($"\"id\": \"{id}\"", await ReadsAsync(mx, "queue", "list", "--json"));
        Assert.Contains("Subject: waiting", await ReadsAsync(mx, "queue", "show", id));
        Assert.Equal("example.test\n", await ReadsAsync(mx, "domain", "list"));
        Assert.Equal("alice@example.test\tmail/example.test/alice\n", await ReadsAsync(mx, "mailbox", "list"));
        Assert.Equal("en\n", await ReadsAsync(mx, "mailbox", "language", "alice@example.test"));
        Assert.Equal("info@example.test\talice@example.test\n", await ReadsAsync(mx, "alias", "list"));
        Assert.Equal("alice@example.test\n", await ReadsAsync(mx, "admin", "list"));
        Assert.Contains("destination remote.test: encrypt", await ReadsAsync(mx, "policy", "show"));
        Assert.Contains("example.test.\tIN\tMX\t10 ", await ReadsAsync(mx, "dns-records", "example.test"));
        await ReadsAsync(mx, "log");
        Assert.StartsWith("example.test\ts1\trsa-2048\tactive\t", await ReadsAsync(mx, "dkim", "list"));

        SaysDiskFull(await mx.Cli("domain", "add", "other.test"), "domain add");
        SaysDiskFull(await mx.Cli("policy", "destination", "other.test", "encrypt"), "policy destination");
        SaysDiskFull(await mx.Cli("dkim", "add", "example.test", "--selector", "s2"), "dkim add");
        var init = await Run.SecureMxAsync("init", "--data", Path.Combine(mx.DataDir, "second"), "--hostname", "mx2.securemx.test");
        SaysDiskFull(init, "init");
        Assert.Equal(["dkim", "filler", "mail", "securemx.db", "securemx.json", "spool", "tls"],
            Directory.EnumerateFileSystemEntries(mx.DataDir).Select(Path.GetFileName).Where(n => !n!.StartsWith("securemx.db-", StringComparison.Ordinal)).Order(StringComparer.Ordinal));

        // Room again: the writes that were refused work, nothing was half done.
        File.Delete(Path.Combine(mx.DataDir, "filler"));
        await mx.CliOk("domain", "add", "other.test");
        Assert.Equal("example.test\nother.test\n", await ReadsAsync(mx, "domain", "list"));
        Assert.False(File.Exists(Path.Combine(mx.DataDir, "dkim", "example.test", "s2.pem")), "a key file of the refused dkim add");
        await mx.CliOk("dkim", "add", "example.test", "--selector", "s2");
    }

    [Fact]
    public async Task AfterAKillTheReadCommandsSeeWhatTheWriteAheadLogHolds()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        // new/ is a file: delivery fails and the message waits in the queue.
        var newDir = mx.MaildirNew("alice@example.test");
        Directory.Delete(newDir);
        await File.WriteAllTextAsync(newDir, "in the way");
        await mx.StartAsync();
        string id;
        await using (var smtp = await RawSmtp.ConnectAsync(mx.Mx))
        {
            await smtp.ReadReplyAsync();
            await smtp.CommandAsync("EHLO client.test");
            await smtp.CommandAsync("MAIL FROM:<sender@elsewhere.test>");
            await smtp.CommandAsync("RCPT TO:<alice@example.test>");
            await smtp.CommandAsync("DATA");
            id = QueuedAs().Match(await smtp.CommandAsync("Subject: in the log\r\n\r\nbody\r\n.")).Groups[1].Value;
        }
        await mx.CliOk("domain", "add", "in-the-log.test"); // beside the running server: into the write-ahead log
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(await mx.Cli("queue", "list")).StdOut.Contains("deferred", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "the message was not deferred\n" + mx.Log);
            await Task.Delay(100);
        }
        await mx.KillAsync();
        foreach (var db in new[] { "securemx.db", "spool/queue.db" })
        {
            Assert.True(new FileInfo(Path.Combine(mx.DataDir, db + "-wal")).Length > 0, $"{db}: the write-ahead log is empty");
        }
        await using var tmpfs = await TmpfsMount.MountAsync(mx.DataDir, "8m");
        Fill(mx.DataDir);

        Assert.Equal("example.test\nin-the-log.test\n", await ReadsAsync(mx, "domain", "list"));
        var list = await ReadsAsync(mx, "queue", "list");
        Assert.Contains(id, list);
        Assert.Matches(@"alice@example\.test\s+deferred\s+.*attempts: 1", list);
        Assert.Contains("Subject: in the log", await ReadsAsync(mx, "queue", "show", id));
    }

    [Fact]
    public async Task DovecotConfigOnAFullDiskSaysDiskFull()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", owner: Owner);
        await using var tmpfs = await TmpfsMount.MountAsync(mx.DataDir, "8m");
        var chown = await Run.ProcessAsync("chown", ["-R", $"{Owner}:", mx.DataDir]); // the copy onto the tmpfs is root's
        Assert.True(chown.ExitCode == 0, chown.All);
        var before = await File.ReadAllBytesAsync(Path.Combine(mx.DataDir, "securemx.json"));
        Fill(mx.DataDir);

        var r = await mx.Cli("dovecot-config");

        SaysDiskFull(r, "dovecot-config");
        Assert.Equal("", r.StdOut);
        Assert.Equal(before, await File.ReadAllBytesAsync(Path.Combine(mx.DataDir, "securemx.json")));
    }
}
