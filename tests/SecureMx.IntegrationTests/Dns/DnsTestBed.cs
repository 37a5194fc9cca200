using System.Net;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Dns;

/// <summary>
/// The loopback DNSSEC "internet" of tests/peers/dns-testbed.sh: knot (authoritative, NET.1:53) and
/// unbound (validating resolver, NET.2:53 = <see cref="Resolver"/>). The zones are listed in the
/// script's header; mail hosts live on NET.(MxBase + k).
/// </summary>
public sealed class DnsTestBed : IAsyncDisposable
{
    /// <summary>The fixed TLSA data of _25._tcp.mx.dane-ok.test and _25._tcp.mx.unsigned.test (unless records.conf overrides it).</summary>
    public const string DefaultTlsa = "3 1 1 8f2d1c6ae73bb6f0d0c3a8b1e5f4a2d9c7b6e5f4a3b2c1d0e9f8a7b6c5d4e3f2";

    public string Dir { get; }
    public string Net { get; }
    public int MxBase { get; }

    private DnsTestBed(string dir, string net, int mxBase)
    {
        Dir = dir;
        Net = net;
        MxBase = mxBase;
    }

    /// <summary>The validating resolver to give SecureMx (<c>--dns</c>).</summary>
    public IPEndPoint Resolver => new(IPAddress.Parse(Net + ".2"), 53);

    /// <summary>The authoritative server (knot).</summary>
    public IPEndPoint Authoritative => new(IPAddress.Parse(Net + ".1"), 53);

    /// <summary>Address of the k-th mail host: NET.(MxBase + k) (mx1.mx-ok.test is 0, see the script header).</summary>
    public IPAddress Host(int k) => IPAddress.Parse($"{Net}.{MxBase + k}");

    public static string Script => Path.Combine(Run.RepoRoot, "tests", "peers", "dns-testbed.sh");

    /// <summary>
    /// Starts a test bed in a fresh directory under /tmp (mode 0755). Tries the given /24 prefixes in
    /// order and takes the first whose addresses are free (another test bed may be running). Fails
    /// with the script's message — e.g. missing packages — never silently.
    /// </summary>
    /// <param name="records">
    /// Optional content of DIR/records.conf (extra records and zones), given the chosen prefix NET: zone-file lines
    /// such as <c>_25._tcp.mx.dane-ok.test. TLSA 3 1 1 &lt;hex&gt;</c> (validates, AD), and
    /// <c>BOGUS-TLSA _25._tcp.mx.tlsa-servfail.test. 3 1 1 &lt;hex&gt;</c> for a TLSA lookup that SERVFAILs while
    /// the domain's MX and A records validate (see the script header).
    /// </param>
    public static async Task<DnsTestBed> StartAsync(string[] nets, int mxBase = 10, Func<string, string>? records = null)
    {
        Assert.True(File.Exists(Script), "missing " + Script);
        string failures = "";
        foreach (var net in nets)
        {
            var dir = Path.Combine("/tmp", "securemx-dns-" + Guid.NewGuid().ToString("N")[..10]);
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            if (records is not null) await File.WriteAllTextAsync(Path.Combine(dir, "records.conf"), records(net));
            var r = await Run.ProcessAsync("bash", [Script, "start", dir, "--net", net, "--mx-base", mxBase.ToString()], timeout: TimeSpan.FromSeconds(60));
            if (r.ExitCode == 0) return new DnsTestBed(dir, net, mxBase);
            await Run.ProcessAsync("bash", [Script, "stop", dir], timeout: TimeSpan.FromSeconds(30));
            TryDelete(dir);
            failures += $"\n--net {net}: exit {r.ExitCode}: {r.All.Trim()}";
            if (!r.All.Contains("already in use", StringComparison.Ordinal) && !r.All.Contains("already running", StringComparison.Ordinal)) break;
        }
        Assert.Fail("tests/peers/dns-testbed.sh start failed (packages: scripts/install-test-deps.sh):" + failures);
        throw new InvalidOperationException("unreachable");
    }

    public async ValueTask DisposeAsync()
    {
        await Run.ProcessAsync("bash", [Script, "stop", Dir], timeout: TimeSpan.FromSeconds(30));
        TryDelete(Dir);
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>One test bed per test class (xunit class fixture) on 127.0.5 (or a free fallback prefix).</summary>
public sealed class DnsTestBedFixture : IAsyncLifetime
{
    private DnsTestBed? _bed;

    public DnsTestBed Bed => _bed ?? throw new InvalidOperationException("the DNS test bed did not start");

    /// <summary>Wall-clock time of the test bed's start (reported in the test output).</summary>
    public TimeSpan StartTime { get; private set; }

    public async ValueTask InitializeAsync()
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        _bed = await DnsTestBed.StartAsync(["127.0.5", "127.0.51", "127.0.52", "127.0.53"]);
        StartTime = sw.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (_bed is not null) await _bed.DisposeAsync();
    }
}
