using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>The CLI is a contract for operators' scripts: exit codes, messages, nothing half-written.</summary>
public sealed class CliContractTests
{
    private static string TempDir() => Path.Combine(Path.GetTempPath(), "securemx-cli-" + Guid.NewGuid().ToString("N")[..10]);

    [Fact]
    public async Task InitCreatesConfigStoreSpoolMailAndSelfSignedCertificate()
    {
        var dir = TempDir();
        try
        {
            var r = await Run.SecureMxAsync("init", "--data", dir, "--hostname", "MX.Example.TEST", "--submission", "off", "--dns", "127.0.0.53:53");
            Assert.True(r.ExitCode == 0, r.All);
            var json = await File.ReadAllTextAsync(Path.Combine(dir, "securemx.json"));
            Assert.Contains("\"hostname\": \"mx.example.test\"", json);
            Assert.Contains("\"submission\": \"off\"", json);
            Assert.Contains("\"dns\": \"127.0.0.53:53\"", json);
            Assert.Contains("\"mx\": \"127.0.0.1:2525\"", json);
            Assert.True(File.Exists(Path.Combine(dir, "securemx.db")));
            Assert.True(Directory.Exists(Path.Combine(dir, "spool", "data")));
            Assert.True(Directory.Exists(Path.Combine(dir, "mail")));
            using var cert = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(Path.Combine(dir, "tls", "cert.pem"), Path.Combine(dir, "tls", "key.pem"));
            Assert.Equal("CN=mx.example.test", cert.Subject);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dir, "tls", "key.pem")));

            var again = await Run.SecureMxAsync("init", "--data", dir, "--hostname", "mx.example.test");
            Assert.NotEqual(0, again.ExitCode);
            Assert.Contains("not empty", again.StdErr);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData("--hostname", "not a host", "not a valid host name")]
    [InlineData("--mx", "127.0.0.1", "is not ADDR:PORT")]
    [InlineData("--dns", "localhost:53", "is not ADDR:PORT")]
    [InlineData("--metrics", "9465", "is not ADDR:PORT")]
    [InlineData("--cert", "/nonexistent.pem", "--cert and --key go together")]
    public async Task InitWithBadArgumentsFailsAndWritesNothing(string option, string value, string message)
    {
        var dir = TempDir();
        var args = new List<string> { "init", "--data", dir };
        if (option != "--hostname") args.AddRange(["--hostname", "mx.example.test"]);
        args.AddRange([option, value]);
        var r = await Run.SecureMxAsync(args.ToArray());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.StdErr);
        Assert.False(Directory.Exists(dir));
        Assert.Empty(Directory.GetDirectories(Path.GetTempPath(), "." + Path.GetFileName(dir) + "*"));
    }

    [Fact]
    public async Task InitWithUnreadableCertificateFailsAndWritesNothing()
    {
        var dir = TempDir();
        var bogus = Path.GetTempFileName();
        await File.WriteAllTextAsync(bogus, "not a certificate");
        try
        {
            var r = await Run.SecureMxAsync("init", "--data", dir, "--hostname", "mx.example.test", "--cert", bogus, "--key", bogus);
            Assert.NotEqual(0, r.ExitCode);
            Assert.Contains("cannot load the certificate", r.StdErr);
            Assert.False(Directory.Exists(dir));
        }
        finally
        {
            File.Delete(bogus);
        }
    }

    [Fact]
    public async Task DomainMailboxAliasCommandsAddListRemoveAndRefuseMistakes()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        Assert.Equal("example.test\n", (await mx.Cli("domain", "list")).StdOut);

        var dup = await mx.Cli("domain", "add", "EXAMPLE.test");
        Assert.NotEqual(0, dup.ExitCode);
        Assert.Contains("already exists", dup.StdErr);

        var noPassword = await mx.Cli("mailbox", "add", "bob@example.test");
        Assert.NotEqual(0, noPassword.ExitCode);
        Assert.Contains("--password-stdin", noPassword.StdErr);

        var foreign = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "bob@other.test", "--password-stdin", "--data", mx.DataDir);
        Assert.NotEqual(0, foreign.ExitCode);
        Assert.Contains("not hosted", foreign.StdErr);

        var badAddress = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "bob@@example.test", "--password-stdin", "--data", mx.DataDir);
        Assert.NotEqual(0, badAddress.ExitCode);
        Assert.Contains("not a valid mail address", badAddress.StdErr);

        await mx.CliOk("alias", "add", "Info@example.test", "alice@example.test");
        Assert.Equal("info@example.test\talice@example.test\n", (await mx.Cli("alias", "list")).StdOut);
        var aliasToNowhere = await mx.Cli("alias", "add", "sales@example.test", "nobody@example.test");
        Assert.NotEqual(0, aliasToNowhere.ExitCode);

        var busyDomain = await mx.Cli("domain", "remove", "example.test");
        Assert.NotEqual(0, busyDomain.ExitCode);
        Assert.Contains("remove them first", busyDomain.StdErr);

        var targeted = await mx.Cli("mailbox", "remove", "alice@example.test");
        Assert.NotEqual(0, targeted.ExitCode);
        Assert.Contains("info@example.test", targeted.StdErr);

        await mx.CliOk("alias", "remove", "info@example.test");
        await mx.CliOk("mailbox", "remove", "alice@example.test");
        await mx.CliOk("domain", "remove", "example.test");
        Assert.Equal("", (await mx.Cli("domain", "list")).StdOut);
    }

    /// <summary>
    /// Issue 13: a quoted local part, '/', HTML-special or control characters, white space and stray
    /// dots are refused at creation with a reason (the store's one rule), and nothing is stored.
    /// </summary>
    [Theory]
    [InlineData("\"<script>alert(1)</script>\"@example.test", "'<'")]
    [InlineData("a/b@example.test", "'/'")]
    [InlineData("\"john doe\"@example.test", "white space")]
    [InlineData("o'brien@example.test", "'''")]
    [InlineData("\"a..b\"@example.test", "two dots")]
    public async Task MailboxAndAliasAddRefuseAddressesThatDoNotWorkEverywhere(string address, string reason)
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);

        var mailbox = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", address, "--password-stdin", "--data", mx.DataDir);
        Assert.NotEqual(0, mailbox.ExitCode);
        Assert.Contains("refused to create the mailbox", mailbox.StdErr);
        Assert.Contains(reason, mailbox.StdErr);
        var alias = await mx.Cli("alias", "add", address, "alice@example.test");
        Assert.NotEqual(0, alias.ExitCode);
        Assert.Contains("refused to create the alias", alias.StdErr);

        Assert.Equal("alice@example.test\tmail/example.test/alice\n", (await mx.Cli("mailbox", "list")).StdOut);
        Assert.Equal("", (await mx.Cli("alias", "list")).StdOut);
    }

    [Fact]
    public async Task MailboxLanguageShowsAndSetsTheLanguageAndListKeepsItsTwoColumns()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"]);
        var list = (await mx.Cli("mailbox", "list")).StdOut;
        Assert.Equal("en\n", (await mx.Cli("mailbox", "language", "alice@example.test")).StdOut);

        var set = await mx.Cli("mailbox", "language", "Alice@Example.TEST", "de");
        Assert.True(set.ExitCode == 0, set.All);
        Assert.Equal("language of alice@example.test set to de\n", set.StdOut);
        Assert.Equal("de\n", (await mx.Cli("mailbox", "language", "alice@example.test")).StdOut);
        Assert.Equal("en\n", (await mx.Cli("mailbox", "language", "bob@example.test")).StdOut);
        // Operators' scripts parse the list: ADDRESS<TAB>MAILDIR, nothing more.
        Assert.Equal(list, (await mx.Cli("mailbox", "list")).StdOut);
        Assert.All(list.TrimEnd('\n').Split('\n'), line => Assert.Equal(2, line.Split('\t').Length));

        var french = await mx.Cli("mailbox", "language", "alice@example.test", "fr");
        Assert.Equal(1, french.ExitCode);
        Assert.Contains("'fr' is not a language SecureMx writes mail in (en|de)", french.StdErr);
        var nobody = await mx.Cli("mailbox", "language", "nobody@example.test");
        Assert.Equal(1, nobody.ExitCode);
        Assert.Contains("mailbox nobody@example.test does not exist", nobody.StdErr);
        var setNobody = await mx.Cli("mailbox", "language", "nobody@example.test", "de");
        Assert.Equal(1, setNobody.ExitCode);
        Assert.Contains("mailbox nobody@example.test does not exist", setNobody.StdErr);

        await mx.CliOk("mailbox", "language", "alice@example.test", "EN");
        Assert.Equal("en\n", (await mx.Cli("mailbox", "language", "alice@example.test")).StdOut);
    }

    [Fact]
    public async Task CommandsOnAMissingInstanceFailClearly()
    {
        var r = await Run.SecureMxAsync("domain", "list", "--data", TempDir());
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("is not a SecureMx instance", r.StdErr);
        var serve = await Run.SecureMxAsync("serve", "--data", TempDir());
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains("securemx init", serve.StdErr);
    }

    [Fact]
    public async Task ProbeCannotJudgeWhenTheResolverDoesNotAnswerAndExitsTwo()
    {
        // A resolver address where nothing listens: every query fails, as with a resolver that is down.
        int port;
        using (var gone = new System.Net.Sockets.UdpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0))) port = ((System.Net.IPEndPoint)gone.Client.LocalEndPoint!).Port;
        await using var mx = await SecureMxInstance.CreateAsync(configure: cfg => cfg["dns"] = $"127.0.0.1:{port}");

        var human = await mx.Cli("probe", "example.org");
        Assert.True(human.ExitCode == 2, human.All);
        Assert.Contains("MX:       4.4.3 DNS lookup of MX for example.org failed", human.StdOut);
        Assert.Contains("(DNSSEC: unknown (lookup failed))", human.StdOut);
        Assert.Contains("mandatory TLS would work: cannot judge: the MX lookup of example.org failed", human.StdOut);
        Assert.Contains("DANE would verify:        cannot judge: ", human.StdOut);
        Assert.DoesNotContain("DNSSEC: insecure", human.StdOut);
        Assert.DoesNotContain("not DNSSEC-signed", human.StdOut);

        var json = await mx.Cli("probe", "example.org", "--json");
        Assert.True(json.ExitCode == 2, json.All);
        var report = System.Text.Json.Nodes.JsonNode.Parse(json.StdOut)!;
        Assert.False((bool)report["judged"]!);
        Assert.Null(report["mandatoryTlsWorks"]);
        Assert.Null(report["daneVerifies"]);
    }

    [Fact]
    public async Task ServeRefusesAnInvalidConfigurationWithTheKeyAtFault()
    {
        // Broken after the instance is made: `mailbox add` reads securemx.json as well (delivery.mailFileMode) and would refuse first.
        await using var mx = await SecureMxInstance.CreateAsync();
        var cfgPath = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(cfgPath))!;
        cfg["limits"]!["maxRecipients"] = 0;
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString());
        var r = await mx.Cli("serve");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("limits.maxRecipients", r.StdErr);
    }

    [Fact]
    public async Task ServeFailsClearlyWhenItsPortIsTaken()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        using var squatter = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        squatter.Bind(mx.Mx);
        squatter.Listen();
        var r = await mx.Cli("serve");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"securemx: cannot listen on {mx.Mx} for the mx listener", r.StdErr);
    }

    [Fact]
    public async Task InitMetricsIsWrittenAndServeMetricsRefusesATakenPortAndGarbageNamingTheKey()
    {
        var dir = TempDir();
        try
        {
            var r = await Run.SecureMxAsync("init", "--data", dir, "--hostname", "mx.example.test", "--metrics", "127.0.0.1:9465");
            Assert.True(r.ExitCode == 0, r.All);
            Assert.Contains("\"metrics\": \"127.0.0.1:9465\"", await File.ReadAllTextAsync(Path.Combine(dir, "securemx.json")));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }

        await using var mx = await SecureMxInstance.CreateAsync();
        Assert.Contains("\"metrics\": \"off\"", await File.ReadAllTextAsync(Path.Combine(mx.DataDir, "securemx.json")));
        var port = Net.FreeEndpoint();
        using var squatter = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        squatter.Bind(port);
        squatter.Listen();
        var taken = await mx.Cli("serve", "--metrics", Net.Text(port));
        Assert.Equal(1, taken.ExitCode);
        Assert.Contains($"securemx: listeners.metrics: cannot listen on {Net.Text(port)}", taken.StdErr);
        var garbage = await mx.Cli("serve", "--metrics", "localhost:metrics");
        Assert.Equal(1, garbage.ExitCode);
        Assert.Contains("listeners.metrics", garbage.StdErr);
    }

    [Fact]
    public async Task SecondServeOnTheSameInstanceIsRefused()
    {
        await using var mx = await SecureMxInstance.CreateAsync();
        await mx.StartAsync();
        var second = await mx.Cli("serve");
        Assert.Equal(1, second.ExitCode);
        Assert.Contains("already running", second.StdErr);
        Assert.Equal(0, await mx.StopAsync());
    }
}
