using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A real SecureMx instance: a data directory made by `securemx init` and a `securemx serve` process
/// on its own loopback address. Tests talk to it only through sockets, files and the CLI.
/// </summary>
public sealed class SecureMxInstance : IAsyncDisposable
{
    public string DataDir { get; }
    public IPEndPoint Mx { get; }
    /// <summary>The submission listener (STARTTLS, port 587 style), when created with <c>submission: true</c>.</summary>
    public IPEndPoint? Submission { get; }
    /// <summary>The submissions listener (implicit TLS, port 465 style), when created with <c>submission: true</c>.</summary>
    public IPEndPoint? Submissions { get; }
    /// <summary>The secure MX listener (STARTTLS required, strict TLS profile), when created with <c>secureMx:</c>.</summary>
    public IPEndPoint? SecureMxEndpoint { get; }
    /// <summary>The dashboard's HTTPS listener, when created with <c>dashboard:</c>; off otherwise.</summary>
    public IPEndPoint? Dashboard { get; }
    /// <summary>https://ADDR:PORT of the dashboard (its certificate is the instance's self-signed one).</summary>
    public string DashboardUrl => Dashboard is null ? throw new InvalidOperationException("the instance was created without a dashboard") : $"https://{Net.Text(Dashboard)}";
    public string Hostname { get; }
    /// <summary>The system user the instance belongs to and serve runs as (Dovecot reads its Maildirs as it); null: the test's own user.</summary>
    public string? Owner { get; private set; }
    private Process? _process;
    private readonly StringBuilder _log = new();

    private SecureMxInstance(string dataDir, IPEndPoint mx, IPEndPoint? submission, IPEndPoint? submissions, string hostname, IPEndPoint? secureMx = null, IPEndPoint? dashboard = null)
    {
        DataDir = dataDir;
        Mx = mx;
        Submission = submission;
        Submissions = submissions;
        Hostname = hostname;
        SecureMxEndpoint = secureMx;
        Dashboard = dashboard;
    }

    /// <summary>The instance's certificate: the one given to init (--cert), else the self-signed one init made for the hostname.</summary>
    public string CertificatePath => _certFile ?? Path.Combine(DataDir, "tls", "cert.pem");

    private string? _certFile;

    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>
    /// Waits until the log holds <paramref name="text"/> (default 30 s): the server writes its lines in batches
    /// (up to 20 ms late, Hosting/ConsoleLineWriter), so a line about what a reply just showed may come after the reply.
    /// </summary>
    public Task WaitForLogAsync(string text, TimeSpan? timeout = null) =>
        WaitForLogAsync(log => log.Contains(text, StringComparison.Ordinal), $"no log line with '{text}'", timeout);

    /// <summary>As <see cref="WaitForLogAsync(string, TimeSpan?)"/>, for a line that matches <paramref name="pattern"/>.</summary>
    public Task WaitForLogMatchAsync([System.Diagnostics.CodeAnalysis.StringSyntax("Regex")] string pattern, TimeSpan? timeout = null) =>
        WaitForLogAsync(log => System.Text.RegularExpressions.Regex.IsMatch(log, pattern), $"no log line matching '{pattern}'", timeout);

    private async Task WaitForLogAsync(Func<string, bool> holds, string missing, TimeSpan? timeout)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!holds(Log))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{missing}:\n{Log}");
            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Configuration for delivery tests on a DNS test bed: its resolver, retries every second, the
    /// delay warning after 3 s and expiry after <paramref name="expireAfter"/> (TLS deferrals after
    /// <paramref name="tlsExpireAfter"/> when given), so the time rules can be watched within a test.
    /// </summary>
    public static void UseTestBedAndSecondsScaleQueue(JsonObject cfg, string resolver, string expireAfter, string? tlsExpireAfter = null)
    {
        cfg["dns"] = resolver;
        var q = cfg["queue"]!.AsObject();
        q["retrySchedule"] = "1s";
        q["maxRetryInterval"] = "1s";
        q["retryJitter"] = 0;
        q["delayWarningAfter"] = "3s";
        q["expireAfter"] = expireAfter;
        if (tlsExpireAfter is not null) q["tlsExpireAfter"] = tlsExpireAfter;
        cfg["delivery"]!["connectTimeoutSeconds"] = 5;
    }

    /// <summary>
    /// init + one hosted domain with the given mailboxes (password "password123"); with <paramref name="submission"/>
    /// also the submission (STARTTLS) and submissions (implicit TLS) listeners.
    /// </summary>
    /// <param name="mx">The MX listener's endpoint (default: a free port on 127.0.3.x).</param>
    /// <param name="secureMx">The secure MX listener's endpoint (<c>--securemx</c>), e.g. NET.40:25 for a DANE sender; off if null.</param>
    /// <param name="secureMxHostname">The secure MX's host name (<c>--securemx-hostname</c>: its greeting, dns-records, the generated certificate).</param>
    /// <param name="certFile">A PEM certificate chain to serve instead of the generated self-signed one (<c>--cert</c>, needs <paramref name="keyFile"/>).</param>
    /// <param name="keyFile">The PEM private key of <paramref name="certFile"/> (<c>--key</c>).</param>
    /// <param name="dashboard">The dashboard's HTTPS endpoint (<c>--dashboard</c>); off if null.</param>
    /// <param name="store">A shared PostgreSQL store (<c>init --store --store-password-file --node</c>); null: the embedded SQLite store.</param>
    public static async Task<SecureMxInstance> CreateAsync(string domain = "example.test", string[]? mailboxes = null,
        Action<JsonObject>? configure = null, string hostname = "mx.securemx.test", bool submission = false,
        IPEndPoint? mx = null, IPEndPoint? secureMx = null, string? secureMxHostname = null, string? certFile = null, string? keyFile = null, IPEndPoint? dashboard = null,
        string? owner = null, SharedStore? store = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "securemx-it-" + Guid.NewGuid().ToString("N")[..10]);
        mx ??= Net.FreeEndpoint();
        var sub = submission ? Net.FreeEndpoint() : null;
        var subs = submission ? Net.FreeEndpoint() : null;
        var initArgs = new List<string> { "init", "--data", dir, "--hostname", hostname, "--mx", Net.Text(mx), "--securemx", secureMx is null ? "off" : Net.Text(secureMx),
            "--submission", sub is null ? "off" : Net.Text(sub), "--submissions", subs is null ? "off" : Net.Text(subs), "--dashboard", dashboard is null ? "off" : Net.Text(dashboard) };
        if (secureMxHostname is not null) initArgs.AddRange(["--securemx-hostname", secureMxHostname]);
        if (certFile is not null) initArgs.AddRange(["--cert", certFile]);
        if (keyFile is not null) initArgs.AddRange(["--key", keyFile]);
        // init reaches and migrates a shared store; the password stays in its file.
        if (store is not null) initArgs.AddRange(["--store", store.Uri, "--store-password-file", store.PasswordFile, "--node", store.NodeName]);
        var init = await Run.SecureMxAsync(initArgs.ToArray());
        Assert.True(init.ExitCode == 0, init.All);
        var instance = new SecureMxInstance(dir, mx, sub, subs, hostname, secureMx, dashboard) { _certFile = certFile };
        var cfgPath = Path.Combine(dir, "securemx.json");
        var cfg = JsonNode.Parse(File.ReadAllText(cfgPath))!.AsObject();
        cfg["limits"]!["maxConnectionsPerIp"] = 200;
        // SPF/DKIM/DMARC wait for DNS before the 250, and the default resolver (127.0.0.1:53) is not there in
        // tests: every message would wait out the time budget. Tests of authentication switch it on with a test bed.
        cfg["inboundAuthentication"] = new JsonObject { ["enabled"] = false };
        configure?.Invoke(cfg);
        File.WriteAllText(cfgPath, cfg.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        if (owner is not null)
        {
            // As in production: the instance's files are its user's; the CLI, run as root, switches to it.
            var chown = await Run.ProcessAsync("chown", ["-R", $"{owner}:", dir]);
            Assert.True(chown.ExitCode == 0, chown.All);
            instance.Owner = owner;
        }
        // A node joining a shared store finds the domains the first node added there.
        if (store is { HostDomain: false }) return instance;
        await instance.CliOk("domain", "add", domain);
        foreach (var m in mailboxes ?? ["alice@" + domain])
        {
            var r = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", m, "--password-stdin", "--data", dir);
            Assert.True(r.ExitCode == 0, r.All);
        }
        return instance;
    }

    public async Task<ProcessResult> Cli(params string[] args) => await Run.SecureMxAsync(args.Concat(["--data", DataDir]).ToArray());

    public async Task CliOk(params string[] args)
    {
        var r = await Cli(args);
        Assert.True(r.ExitCode == 0, $"securemx {string.Join(' ', args)} failed: {r.All}");
    }

    /// <summary>The open-file limit (soft, hard) serve starts with; null: the test's own.</summary>
    public (int Soft, int Hard)? OpenFileLimit { get; set; }

    /// <summary>Environment variables serve starts with, besides the test's own.</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <param name="serveArgs">More arguments for `securemx serve` (e.g. <c>--metrics ADDR:PORT</c>).</param>
    public async Task StartAsync(params string[] serveArgs)
    {
        // prlimit sets the limit and execs the rest: the process started is still the server itself.
        var prefix = new List<string>();
        if (OpenFileLimit is var (soft, hard)) prefix.AddRange(["prlimit", $"--nofile={soft}:{hard}", "--"]);
        if (Owner is not null) prefix.AddRange(["setpriv", $"--reuid={Owner}", $"--regid={Owner}", "--init-groups"]);
        var psi = new ProcessStartInfo(prefix.Count > 0 ? prefix[0] : "dotnet");
        foreach (var a in prefix.Skip(1)) psi.ArgumentList.Add(a);
        if (prefix.Count > 0) psi.ArgumentList.Add("dotnet");
        if (Owner is not null) psi.Environment["HOME"] = Path.GetTempPath();
        foreach (var (name, value) in Environment) psi.Environment[name] = value;
        foreach (var a in new[] { Owner is null ? Run.SecureMxDll : Run.SecureMxDllForAnyUser, "serve", "--data", DataDir }.Concat(serveArgs)) psi.ArgumentList.Add(a);
        _process = Run.StartCapturing(psi, _log);
        try
        {
            foreach (var ep in new[] { Mx, SecureMxEndpoint, Submission, Submissions, Dashboard }.OfType<IPEndPoint>()) await Net.WaitForPortAsync(ep, TimeSpan.FromSeconds(30));
        }
        catch (Exception)
        {
            throw new InvalidOperationException("securemx serve did not open its port; log:\n" + Log);
        }
    }

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not running");

    /// <summary>SIGTERM and wait for a graceful exit; returns the exit code.</summary>
    public async Task<int> StopAsync(TimeSpan? timeout = null)
    {
        if (_process is null) return 0;
        await Run.ProcessAsync("kill", ["-TERM", _process.Id.ToString()]);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(40));
        await _process.WaitForExitAsync(cts.Token);
        var code = _process.ExitCode;
        _process.Dispose();
        _process = null;
        return code;
    }

    /// <summary>kill -9: no chance to flush or clean up.</summary>
    public async Task KillAsync()
    {
        if (_process is null) return;
        await Run.ProcessAsync("kill", ["-KILL", _process.Id.ToString()]);
        await _process.WaitForExitAsync();
        _process.Dispose();
        _process = null;
    }

    public string MaildirNew(string address)
    {
        var at = address.IndexOf('@');
        return Path.Combine(DataDir, "mail", address[(at + 1)..], address[..at], "new");
    }

    public string[] Messages(string address)
    {
        var dir = MaildirNew(address);
        return Directory.Exists(dir) ? Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal).ToArray() : [];
    }

    /// <summary>Waits until the mailbox holds at least <paramref name="count"/> messages.</summary>
    public async Task<string[]> WaitForMessagesAsync(string address, int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var files = Messages(address);
            if (files.Length >= count) return files;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{address}: {files.Length} of {count} messages arrived; log:\n{Log}");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until a message containing <paramref name="token"/> is in the mailbox; returns its bytes.</summary>
    public async Task<byte[]> WaitForMessageAsync(string address, string token, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            foreach (var file in Messages(address))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                if (Encoding.UTF8.GetString(bytes).Contains(token, StringComparison.Ordinal)) return bytes;
            }
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{address}: no message with {token} arrived; log:\n{Log}");
            await Task.Delay(100);
        }
    }

    /// <summary>Splits a delivered file into our two trace headers and the rest (what the client sent).</summary>
    public static (string Trace, byte[] Original) SplitDelivered(byte[] file)
    {
        // Return-Path line, then a Received header with continuation lines (starting with a tab).
        int pos = IndexOfCrLf(file, 0) + 2;
        if (!Encoding.ASCII.GetString(file, 0, pos).StartsWith("Return-Path:", StringComparison.Ordinal)) throw new InvalidDataException("no Return-Path first");
        pos = IndexOfCrLf(file, pos) + 2;
        while (pos < file.Length && file[pos] == (byte)'\t') pos = IndexOfCrLf(file, pos) + 2;
        // Our Authentication-Results (RFC 8601), when the instance authenticates, follows Received: trace too.
        if (Encoding.ASCII.GetString(file, pos, Math.Min(24, file.Length - pos)).StartsWith("Authentication-Results: ", StringComparison.Ordinal))
        {
            pos = IndexOfCrLf(file, pos) + 2;
            while (pos < file.Length && file[pos] == (byte)'\t') pos = IndexOfCrLf(file, pos) + 2;
        }
        return (Encoding.UTF8.GetString(file, 0, pos), file[pos..]);
    }

    private static int IndexOfCrLf(byte[] b, int from)
    {
        for (int i = from; i + 1 < b.Length; i++) if (b[i] == '\r' && b[i + 1] == '\n') return i;
        throw new InvalidDataException("no CRLF");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.Dispose();
        }
        try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { }
    }
}
