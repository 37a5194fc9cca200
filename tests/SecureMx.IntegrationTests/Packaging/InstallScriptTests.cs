using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Packaging;

/// <summary>
/// scripts/install.sh into a temporary root (--destdir): a working securemx command, a unit that
/// systemd-analyze verifies, the same result when run again, and an uninstall that removes what it
/// added but never an instance with data in it.
/// </summary>
public sealed class InstallScriptTests : IDisposable
{
    private static readonly TimeSpan BuildTime = TimeSpan.FromMinutes(10);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "securemx-install-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private string InRoot(string path) => _root + path;

    private Task<ProcessResult> InstallAsync(params string[] args) =>
        Run.ProcessAsync("bash", new[] { Path.Combine(Run.RepoRoot, "scripts", "install.sh"), "--destdir", _root }.Concat(args), timeout: BuildTime);

    private string[] Files() => Directory.Exists(_root)
        ? Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f)).Order(StringComparer.Ordinal).ToArray()
        : [];

    [Fact]
    public async Task Install_gives_a_working_command_and_a_verified_unit_and_uninstall_removes_it()
    {
        var install = await InstallAsync();
        Assert.True(install.ExitCode == 0, install.All);
        // No systemd is touched for a --destdir install: the commands are printed instead.
        Assert.Contains("nothing was enabled or started", install.StdOut);
        Assert.Contains("systemctl enable --now securemx", install.StdOut);
        Assert.Contains("runuser -u securemx -- securemx init --data /var/lib/securemx", install.StdOut);

        // The launcher runs the installed build.
        var launcher = InRoot("/usr/local/bin/securemx");
        var help = await Run.ProcessAsync(launcher, ["--help"]);
        Assert.True(help.ExitCode == 0, help.All);
        Assert.Contains("serve", help.StdOut);
        Assert.True(File.Exists(InRoot("/usr/local/lib/securemx/securemx.dll")));

        // init from the installed command: its hint names `securemx`, as typed on the machine.
        var instance = Path.Combine(_root, "instance");
        var path = Path.GetDirectoryName(launcher) + ":" + Environment.GetEnvironmentVariable("PATH");
        var init = await Run.ProcessAsync(launcher, ["init", "--data", instance, "--hostname", "mx.example.test"], env: new Dictionary<string, string> { ["PATH"] = path });
        Assert.True(init.ExitCode == 0, init.All);
        Assert.Contains($"next: securemx domain add example.org --data {instance}; securemx serve --data {instance}", init.StdOut);
        Directory.Delete(instance, recursive: true);

        await ServeAsTheReadmeSaysAsync(launcher, path);

        var data = InRoot("/var/lib/securemx");
        Assert.True(Directory.Exists(data));
        Assert.Equal((UnixFileMode)0b111_101_000, File.GetUnixFileMode(data));

        var unit = await File.ReadAllTextAsync(InRoot("/etc/systemd/system/securemx.service"));
        Assert.Contains("\nExecStart=/usr/local/bin/securemx serve --data /var/lib/securemx\n", unit);
        foreach (var line in new[] { "Type=notify", "User=securemx", "AmbientCapabilities=CAP_NET_BIND_SERVICE", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE",
                     "ProtectSystem=strict", "ReadWritePaths=/var/lib/securemx", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes", "Restart=on-failure",
                     "ExecReload=/bin/kill -HUP $MAINPID" })
            Assert.Contains("\n" + line + "\n", unit);
        Assert.DoesNotContain("\nMemoryDenyWriteExecute=", unit); // the JIT needs W+X mappings
        Assert.DoesNotContain(unit.Split('\n').Where(l => !l.StartsWith('#')), l => l.Contains('@')); // every placeholder filled

        await VerifyUnitAsync();

        // Again: the same files, nothing added, nothing left behind (idempotent).
        var before = Files();
        var again = await InstallAsync();
        Assert.True(again.ExitCode == 0, again.All);
        Assert.Equal(before, Files());

        // An instance with data in it survives the uninstall; everything else goes.
        await File.WriteAllTextAsync(Path.Combine(data, "securemx.json"), "{}");
        var keep = await InstallAsync("--uninstall");
        Assert.True(keep.ExitCode == 0, keep.All);
        Assert.Contains("kept", keep.StdOut);
        Assert.Equal(["var/lib/securemx/securemx.json"], Files());

        File.Delete(Path.Combine(data, "securemx.json"));
        var uninstall = await InstallAsync("--uninstall");
        Assert.True(uninstall.ExitCode == 0, uninstall.All);
        Assert.Empty(Files());
        Assert.False(Directory.Exists(data));
    }

    /// <summary>
    /// The README's sequence with the installed command, as a newcomer types it on a machine without
    /// systemd, `securemx` found on the PATH: init (a free loopback port instead of 25), domain add, mailbox add, serve
    /// in the foreground; a message sent to the mailbox lands in its Maildir, and SIGTERM ends serve cleanly.
    /// </summary>
    private async Task ServeAsTheReadmeSaysAsync(string launcher, string path)
    {
        var env = new Dictionary<string, string> { ["PATH"] = path };
        var data = Path.Combine(_root, "newcomer");
        var mx = Net.FreeEndpoint();
        async Task Ok(string? stdin, params string[] args)
        {
            var r = await Run.ProcessAsync("bash", new[] { "-c", "exec securemx \"$@\"", "securemx" }.Concat(args).Concat(["--data", data]), stdin: stdin, env: env);
            Assert.True(r.ExitCode == 0, $"securemx {string.Join(' ', args)}: {r.All}");
        }
        await Ok(null, "init", "--hostname", "mx.example.test", "--mx", Net.Text(mx), "--securemx", "off", "--submission", "off", "--submissions", "off", "--dashboard", "off");
        await Ok(null, "domain", "add", "example.org");
        await Ok("a-long-password\n", "mailbox", "add", "alice@example.org", "--password-stdin");

        // Found on the PATH by the shell, which becomes it (exec: the launcher execs too): SIGTERM reaches serve.
        var psi = new System.Diagnostics.ProcessStartInfo("bash");
        foreach (var a in new[] { "-c", "exec securemx serve --data \"$0\"", data }) psi.ArgumentList.Add(a);
        psi.Environment["PATH"] = path;
        var log = new System.Text.StringBuilder();
        using var serve = Run.StartCapturing(psi, log);
        try
        {
            await Net.WaitForPortAsync(mx, TimeSpan.FromSeconds(60));
            var swaks = await Run.ProcessAsync("swaks", ["--server", Net.Text(mx), "--from", "newcomer@elsewhere.test", "--to", "alice@example.org", "--header", "Subject: installed"]);
            Assert.True(swaks.ExitCode == 0, swaks.All);
            var inbox = Path.Combine(data, "mail", "example.org", "alice", "new");
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (!(Directory.Exists(inbox) && Directory.EnumerateFiles(inbox).Any()) && DateTime.UtcNow < deadline) await Task.Delay(100);
            var file = Assert.Single(Directory.GetFiles(inbox));
            Assert.Contains("Subject: installed", await File.ReadAllTextAsync(file));
        }
        finally
        {
            await Run.ProcessAsync("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await serve.WaitForExitAsync(exit.Token);
        }
        Assert.True(serve.ExitCode == 0, "serve exit " + serve.ExitCode + "\n" + log);
        Directory.Delete(data, recursive: true);
    }

    /// <summary>
    /// systemd-analyze verify inside the temporary root: it checks every key and that ExecStart (and ExecReload) is an
    /// executable there. The root gets the host's own system units (sysinit.target and the like, which a
    /// real root has), removed again afterwards. Any warning (an unknown or misspelled key) fails too.
    /// </summary>
    private async Task VerifyUnitAsync()
    {
        var units = InRoot("/usr/lib/systemd/system");
        Directory.CreateDirectory(units);
        foreach (var file in Directory.EnumerateFiles("/usr/lib/systemd/system"))
            if (!File.GetAttributes(file).HasFlag(FileAttributes.ReparsePoint)) File.Copy(file, Path.Combine(units, Path.GetFileName(file)));
        // ExecReload's /bin/kill, which every real root has (procps), must be an executable there too.
        var kill = InRoot("/bin/kill");
        var binCreated = !Directory.Exists(Path.GetDirectoryName(kill));
        Directory.CreateDirectory(Path.GetDirectoryName(kill)!);
        File.Copy("/bin/kill", kill);
        try
        {
            var verify = await Run.ProcessAsync("systemd-analyze", ["verify", "--root=" + _root, "/etc/systemd/system/securemx.service"]);
            Assert.True(verify.ExitCode == 0 && verify.All.Trim().Length == 0, "systemd-analyze verify: " + verify.All);

            // The check can fail: without the executable ExecStart names, verify refuses the unit.
            var launcher = InRoot("/usr/local/bin/securemx");
            File.Move(launcher, launcher + ".away");
            var missing = await Run.ProcessAsync("systemd-analyze", ["verify", "--root=" + _root, "/etc/systemd/system/securemx.service"]);
            File.Move(launcher + ".away", launcher);
            Assert.NotEqual(0, missing.ExitCode);
        }
        finally
        {
            Directory.Delete(InRoot("/usr/lib"), recursive: true);
            File.Delete(kill);
            if (binCreated) Directory.Delete(Path.GetDirectoryName(kill)!);
        }
    }
}
