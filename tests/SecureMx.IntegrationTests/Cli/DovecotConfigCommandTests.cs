using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// `securemx dovecot-config` as operators' scripts use it: the configuration on stdout and exit 0, or
/// exit 1 with the reason and nothing written; securemx.json changed in exactly the keys it names;
/// every file it makes the instance user's, not root's. Run as root, as an administrator would.
/// </summary>
public sealed class DovecotConfigCommandTests
{
    private const string Owner = "securemx-test";

    private static string JsonPath(SecureMxInstance mx) => Path.Combine(mx.DataDir, "securemx.json");

    private static string SqlPath(SecureMxInstance mx) => Path.Combine(mx.DataDir, "dovecot", "securemx-sql.conf.ext");

    private static async Task<string> OwnerOfAsync(string path) => (await Run.ProcessAsync("stat", ["-c", "%U", path])).StdOut.Trim();

    private static async Task<string> ModeOfAsync(string path) => (await Run.ProcessAsync("stat", ["-c", "%a", path])).StdOut.Trim();

    private static async Task RequireRootAsync() =>
        Assert.True((await Run.ProcessAsync("id", ["-u"])).StdOut.Trim() == "0", "these tests run as root, as an administrator runs the CLI");

    /// <summary>The settings of one section of the printed configuration (its lines up to the closing brace).</summary>
    private static string Block(string config, string header)
    {
        var start = config.IndexOf(header + " {\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no '{header}' in:\n{config}");
        var end = config.IndexOf("\n  }", start, StringComparison.Ordinal);
        return config[start..end];
    }

    [Fact]
    public async Task AnInstanceRootOwnsIsRefusedWithTheWayOutAndNothingIsWritten()
    {
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test");
        Assert.Equal("root", await OwnerOfAsync(mx.DataDir));
        var before = await File.ReadAllBytesAsync(JsonPath(mx));

        var r = await mx.Cli("dovecot-config");

        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains($"securemx: {mx.DataDir} belongs to root, and Dovecot does not read mail as root", r.StdErr);
        Assert.Contains("chown -R securemx:", r.StdErr);
        Assert.Equal(before, await File.ReadAllBytesAsync(JsonPath(mx)));
        Assert.False(Directory.Exists(Path.Combine(mx.DataDir, "dovecot")));
    }

    [Fact]
    public async Task OnAnInstanceOfItsOwnUserItPrintsTheConfigurationAndRecordsOnlyWhatSecureMxNeeds()
    {
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", owner: Owner);
        // securemx.json as init writes it: "+" and non-ASCII readable, not \u escapes.
        var text = (await File.ReadAllTextAsync(JsonPath(mx))).Replace("\\u002B", "+", StringComparison.Ordinal);
        await File.WriteAllTextAsync(JsonPath(mx), text);
        Assert.Contains("\"recipientDelimiter\": \"+\"", text);
        var before = JsonNode.Parse(text)!.AsObject();

        var r = await mx.Cli("dovecot-config", "--imap", "127.0.3.5:10143", "--imaps", "[::1]:10993", "--pop3", "off");

        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("\nssl = required\n", r.StdOut);
        Assert.Contains("\nprotocols = imap pop3 lmtp\n", r.StdOut);
        Assert.Contains("address = 127.0.3.5\n    port = 10143", Block(r.StdOut, "inet_listener imap"));
        Assert.Contains("address = [::1]\n    port = 10993", Block(r.StdOut, "inet_listener imaps"));
        Assert.Contains("port = 0", Block(r.StdOut, "inet_listener pop3"));
        Assert.Contains("address = 0.0.0.0\n    port = 995", Block(r.StdOut, "inet_listener pop3s"));
        Assert.Contains($"unix_listener \"{mx.DataDir}/dovecot/lmtp\" {{", r.StdOut);
        Assert.Contains($"securemx: wrote {SqlPath(mx)}", r.StdErr);

        var afterText = await File.ReadAllTextAsync(JsonPath(mx));
        var after = JsonNode.Parse(afterText)!.AsObject();
        Assert.Equal($"unix:{mx.DataDir}/dovecot/lmtp", (string?)after["delivery"]!["lmtp"]);
        Assert.Equal("127.0.0.1:2524", (string?)after["listeners"]!["dovecotPolicy"]);
        var access = after["mailAccess"]!;
        Assert.Equal(("127.0.3.5:10143", "[::1]:10993", "off", "0.0.0.0:995"),
            ((string?)access["imap"], (string?)access["imaps"], (string?)access["pop3"], (string?)access["pop3s"]));
        // Everything else as it was, and still readable by a person.
        foreach (var o in new[] { before, after })
        {
            o["delivery"]!.AsObject().Remove("lmtp");
            o["listeners"]!.AsObject().Remove("dovecotPolicy");
            foreach (var k in new[] { "imap", "imaps", "pop3", "pop3s" }) o["mailAccess"]!.AsObject().Remove(k);
        }
        Assert.True(JsonNode.DeepEquals(before, after), $"before:\n{before}\nafter:\n{after}");
        Assert.Contains("\"recipientDelimiter\": \"+\"", afterText);

        // The files it made are the instance user's; the key readable by nobody else.
        var sql = await File.ReadAllTextAsync(SqlPath(mx));
        Assert.Contains($"connect = {mx.DataDir}/securemx.db\n", sql);
        var keyFile = Path.Combine(mx.DataDir, "dovecot", "policy.key");
        var key = (await File.ReadAllTextAsync(keyFile)).Trim();
        Assert.Contains($"\nauth_policy_server_api_header = X-API-Key:{key}\n", r.StdOut);
        foreach (var file in new[] { JsonPath(mx), SqlPath(mx), keyFile, Path.Combine(mx.DataDir, "dovecot") })
            Assert.Equal(Owner, await OwnerOfAsync(file));
        Assert.Equal("600", await ModeOfAsync(keyFile));
        Assert.Equal("700", await ModeOfAsync(Path.Combine(mx.DataDir, "dovecot")));
    }

    [Fact]
    public async Task RunAgainWithoutOptionsItKeepsTheListenersAndLmtpTheFirstRunChose()
    {
        // "Generate it again instead of editing it": a listener turned off stays off.
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", owner: Owner);
        var first = await mx.Cli("dovecot-config", "--imap", "off", "--imaps", "127.0.3.5:10993", "--pop3", "off", "--pop3s", "off", "--lmtp", "127.0.0.1:10024");
        Assert.True(first.ExitCode == 0, first.All);

        var again = await mx.Cli("dovecot-config");

        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(first.StdOut, again.StdOut);
        Assert.Contains("\nprotocols = imap lmtp\n", again.StdOut);
        Assert.Contains("port = 0", Block(again.StdOut, "inet_listener imap"));
        Assert.Contains("address = 127.0.3.5\n    port = 10993", Block(again.StdOut, "inet_listener imaps"));
        Assert.Contains("address = 127.0.0.1\n    port = 10024", Block(again.StdOut, "inet_listener lmtp"));
        var access = JsonNode.Parse(await File.ReadAllTextAsync(JsonPath(mx)))!["mailAccess"]!;
        Assert.Equal(("off", "127.0.3.5:10993", "off", "off"),
            ((string?)access["imap"], (string?)access["imaps"], (string?)access["pop3"], (string?)access["pop3s"]));
    }

    [Theory]
    [InlineData("--lmtp", "mail.example:24", "securemx: --lmtp: 'mail.example:24' must be unix:/PATH or an IP address and port (Dovecot listens on an address, not a name)")]
    [InlineData("--lmtp", "unix:dovecot/lmtp", "the socket path must be absolute")]
    [InlineData("--imaps", "garbage", "securemx: --imaps: 'garbage' is not ADDR:PORT")]
    [InlineData("--pop3", "0.0.0.0", "securemx: --pop3: '0.0.0.0' is not ADDR:PORT")]
    public async Task AListenerOrLmtpTargetItCannotUseIsRefusedAndNothingIsWritten(string option, string value, string message)
    {
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", owner: Owner);
        var before = await File.ReadAllBytesAsync(JsonPath(mx));

        var r = await mx.Cli("dovecot-config", option, value);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains(message, r.StdErr);
        Assert.Equal(before, await File.ReadAllBytesAsync(JsonPath(mx)));
        Assert.False(Directory.Exists(Path.Combine(mx.DataDir, "dovecot")));
    }

    [Fact]
    public async Task APolicyKeyFileThatHoldsNoKeyIsReportedWithItsPathAndNothingIsWritten()
    {
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", owner: Owner);
        var keyFile = Path.Combine(mx.DataDir, "dovecot", "policy.key");
        Directory.CreateDirectory(Path.GetDirectoryName(keyFile)!);
        await File.WriteAllTextAsync(keyFile, "not a key\n");
        await Run.ProcessAsync("chown", ["-R", $"{Owner}:", Path.GetDirectoryName(keyFile)!]);
        var before = await File.ReadAllBytesAsync(JsonPath(mx));

        var r = await mx.Cli("dovecot-config");

        Assert.Equal(1, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains($"securemx: {keyFile} does not hold a key (64 hex digits); delete it and run securemx dovecot-config again", r.StdErr);
        Assert.DoesNotContain("Unhandled exception", r.StdErr);
        Assert.Equal(before, await File.ReadAllBytesAsync(JsonPath(mx)));
        Assert.False(File.Exists(SqlPath(mx)));
        Assert.Equal("not a key\n", await File.ReadAllTextAsync(keyFile));
    }

    [Fact]
    public async Task MailboxAddRunByRootOnAnInstanceOfItsOwnUserMakesTheMaildirThatUsers()
    {
        await RequireRootAsync();
        await using var mx = await SecureMxInstance.CreateAsync("example.test", [], owner: Owner);
        var r = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "bob@example.test", "--password-stdin", "--data", mx.DataDir);
        Assert.True(r.ExitCode == 0, r.All);

        var maildir = Path.Combine(mx.DataDir, "mail", "example.test", "bob");
        Assert.True(Directory.Exists(Path.Combine(maildir, "new")), r.All);
        foreach (var path in new[] { Path.Combine(mx.DataDir, "mail", "example.test"), maildir, Path.Combine(maildir, "new"), Path.Combine(maildir, "cur"), Path.Combine(maildir, "tmp") })
            Assert.Equal(Owner, await OwnerOfAsync(path));
        // Nor did the store's journal files become root's.
        foreach (var file in Directory.GetFiles(mx.DataDir, "securemx.db*"))
            Assert.Equal(Owner, await OwnerOfAsync(file));
    }
}
