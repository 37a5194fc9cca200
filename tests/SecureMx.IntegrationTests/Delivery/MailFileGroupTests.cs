using System.Text;
using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// delivery.mailGroup and delivery.mailFileMode on a running instance as in production: the instance
/// belongs to a user of its own who is a member of a throwaway group (groupadd, removed afterwards);
/// `mailbox add` (run as root, continuing as the owner with its groups) and a message delivered over
/// SMTP leave the Maildir and the file in that group with the configured modes, so another user of the
/// group reads the message and a user outside it does not; DIR/mail and DIR/mail/DOMAIN give the group
/// only its search bit, and Dovecot is given the owner's own group, not the mail group the data directory
/// now has. A group the owner is not in stops `serve` and `mailbox add` at start with the reason, while
/// commands that make no mail files (dns-records, queue list) work.
/// </summary>
public sealed class MailFileGroupTests : IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..6];
    private string Readers => "smx-read-" + _suffix;
    private string Outsiders => "smx-out-" + _suffix;
    private string Owner => "smx-own-" + _suffix;

    public async ValueTask InitializeAsync()
    {
        await Ok("groupadd", Readers);
        await Ok("groupadd", Outsiders);
        await Ok("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", "--groups", Readers, Owner);
    }

    public async ValueTask DisposeAsync()
    {
        await Run.ProcessAsync("userdel", [Owner]); // its own group goes with it
        await Run.ProcessAsync("groupdel", [Readers]);
        await Run.ProcessAsync("groupdel", [Outsiders]);
    }

    private static async Task<ProcessResult> Ok(string file, params string[] args)
    {
        var r = await Run.ProcessAsync(file, args);
        Assert.True(r.ExitCode == 0, $"{file} {string.Join(' ', args)}: {r.All}");
        return r;
    }

    /// <summary>Octal mode and group name, as stat(1) prints them.</summary>
    private static async Task<string> ModeAndGroup(string path) => (await Ok("stat", "-c", "%a %G", path)).StdOut.Trim();

    /// <summary>cat as the user nobody with only <paramref name="group"/>: can a member of that group read the file?</summary>
    private static Task<ProcessResult> ReadAs(string group, string path) =>
        Run.ProcessAsync("setpriv", ["--reuid=nobody", $"--regid={group}", "--clear-groups", "cat", path]);

    [Fact]
    public async Task TheDeliveredMessageAndItsMaildirGetTheGroupAndModeSoAGroupMemberReadsIt()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], cfg =>
        {
            cfg["delivery"]!["mailFileMode"] = "0660";
            cfg["delivery"]!["mailGroup"] = Readers;
        }, owner: Owner);
        var maildir = Path.Combine(mx.DataDir, "mail", "example.test", "alice");
        // mailbox add ran as root and continued as the owner, with its supplementary group.
        foreach (var d in new[] { maildir, Path.Combine(maildir, "new") })
        {
            Assert.Equal($"770 {Readers}", await ModeAndGroup(d));
        }
        // Above the Maildirs the group only passes through: it may not replace a Maildir with a link.
        foreach (var d in new[] { Path.Combine(mx.DataDir, "mail"), Path.Combine(mx.DataDir, "mail", "example.test") })
        {
            Assert.Equal($"710 {Readers}", await ModeAndGroup(d));
        }

        await mx.StartAsync();
        var message = "From: <sender@elsewhere.test>\r\nTo: <alice@example.test>\r\nSubject: for the readers " + _suffix + "\r\n\r\nbody\r\n";
        var file = Path.Combine(Path.GetTempPath(), "smx-mailgroup-" + _suffix + ".eml");
        await File.WriteAllTextAsync(file, message);
        try
        {
            await Ok("swaks", "--server", Net.Text(mx.Mx), "--from", "sender@elsewhere.test", "--to", "alice@example.test", "--data", file);
        }
        finally
        {
            File.Delete(file);
        }
        var delivered = (await mx.WaitForMessagesAsync("alice@example.test", 1)).Single();

        // 0660 although serve's umask (022 here, 027 under systemd) would have taken the group's write bit.
        Assert.Equal($"660 {Readers}", await ModeAndGroup(delivered));
        Assert.Equal($"770 {Readers}", await ModeAndGroup(Path.Combine(maildir, "tmp")));
        Assert.Equal($"710 {Readers}", await ModeAndGroup(mx.DataDir)); // the group passes through, lists nothing
        // The group passes through the data directory as "others" of what else is in it: the store, the
        // configuration and the key, left readable by others by init's umask, are closed to it.
        foreach (var f in new[] { "securemx.db", "securemx.json", "tls/cert.pem", "tls/key.pem" })
        {
            var read = await ReadAs(Readers, Path.Combine(mx.DataDir, f));
            Assert.True(read.ExitCode != 0 && read.All.Contains("Permission denied"), $"{f}: {read.ExitCode} {read.StdErr}");
        }

        var member = await ReadAs(Readers, delivered);
        Assert.True(member.ExitCode == 0, member.All);
        Assert.Contains("Subject: for the readers " + _suffix, member.StdOut);
        var outsider = await ReadAs(Outsiders, delivered);
        Assert.NotEqual(0, outsider.ExitCode);
        Assert.Contains("Permission denied", outsider.All);

        // The data directory is now the mail group's; commands root runs continue as the owner with its own
        // group, and Dovecot is told the owner's group, not the mail group.
        var ownerGid = (await Ok("id", "-g", Owner)).StdOut.Trim();
        var readersGid = (await Ok("getent", "group", Readers)).StdOut.Split(':')[2];
        var dovecot = await mx.Cli("dovecot-config");
        Assert.True(dovecot.ExitCode == 0, dovecot.All);
        var sql = await File.ReadAllTextAsync(Path.Combine(mx.DataDir, "dovecot", "securemx-sql.conf.ext"));
        Assert.Contains($"{ownerGid} AS gid", sql);
        Assert.DoesNotContain($"{readersGid} AS gid", sql);
    }

    [Fact]
    public async Task AGroupTheServiceUserIsNotInStopsServeAtStartWithTheReason()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", [], owner: Owner);
        var config = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = JsonNode.Parse(await File.ReadAllTextAsync(config))!.AsObject();
        cfg["delivery"]!["mailFileMode"] = "0640";
        cfg["delivery"]!["mailGroup"] = Outsiders;
        await File.WriteAllTextAsync(config, cfg.ToJsonString());

        var serve = await Run.ProcessAsync("setpriv", [$"--reuid={Owner}", $"--regid={Owner}", "--init-groups", "dotnet", Run.SecureMxDllForAnyUser, "serve", "--data", mx.DataDir],
            timeout: TimeSpan.FromSeconds(60), env: new Dictionary<string, string> { ["HOME"] = Path.GetTempPath() });
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains($"delivery.mailGroup: this process (uid ", serve.All);
        Assert.Contains($"is not a member of group '{Outsiders}', so it cannot give mail files to it; add the service user to it (usermod -aG {Outsiders} USER)", serve.All);

        // Commands that make no mail files work for whoever is outside the group (here the owner, as root continues as it).
        var records = await mx.Cli("dns-records", "example.test");
        Assert.True(records.ExitCode == 0, records.All);
        Assert.DoesNotContain("delivery.mailGroup", (await mx.Cli("queue", "list")).All);

        // mailbox add, run as root, continues as the owner: the same reason, and no mailbox without its Maildir.
        var add = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "bob@example.test", "--password-stdin", "--data", mx.DataDir);
        Assert.NotEqual(0, add.ExitCode);
        Assert.Contains($"is not a member of group '{Outsiders}'", add.All);
        Assert.DoesNotContain("bob@example.test", (await mx.Cli("mailbox", "list")).All);
    }
}
