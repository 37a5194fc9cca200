using System.Net;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Dns;

/// <summary>
/// The loopback DNSSEC "internet" of tests/peers/dns-testbed.sh: knot (authoritative) and unbound
/// (validating resolver, <see cref="Resolver"/>) serving the zones of tests/peers/dns-testbed.zones,
/// whose names, hosts and addresses the tests take from <see cref="TestBed"/>.
/// </summary>
public sealed class DnsTestBed : IAsyncDisposable
{
    /// <summary>The --mx-base of a bed started without one (the script's default).</summary>
    public const int DefaultMxBase = 10;

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
    public IPEndPoint Resolver => new(Address(TestBed.Resolver), 53);

    /// <summary>The authoritative server (knot).</summary>
    public IPEndPoint Authoritative => new(Address(TestBed.Authoritative), 53);

    /// <summary>An address of the zone definition on this bed.</summary>
    public IPAddress Address(TestBedAddress address) => address.On(Net, MxBase);

    /// <summary>The address of <paramref name="host"/>'s A record in the zone definition, on this bed.</summary>
    public IPAddress AddressOf(string host) => Address(TestBed.Definition.AddressOf(host));

    public static string Script => Path.Combine(Run.RepoRoot, "tests", "peers", "dns-testbed.sh");

    /// <summary>
    /// Starts a test bed in a fresh directory under /tmp (mode 0755). Tries the given /24 prefixes in
    /// order and takes the first whose addresses are free (another test bed may be running). Fails
    /// with the script's message — e.g. missing packages — never silently.
    /// </summary>
    /// <param name="records">
    /// Lines of DIR/records.conf (extra records and zones, see the script's header): zone-file lines such as
    /// <c>mx.extra.test. A NET.b+40</c>, and the lines <see cref="TestBedZone.TlsaLine"/> makes to give a zone's
    /// TLSA record the data of a real certificate.
    /// </param>
    public static async Task<DnsTestBed> StartAsync(string[] nets, IEnumerable<string>? records = null, int mxBase = DefaultMxBase)
    {
        Assert.True(File.Exists(Script), "missing " + Script);
        var recordsConf = records is null ? null : string.Join("\n", records) + "\n";
        string failures = "";
        foreach (var net in nets)
        {
            var dir = Path.Combine("/tmp", "securemx-dns-" + Guid.NewGuid().ToString("N")[..10]);
            Directory.CreateDirectory(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            if (recordsConf is not null) await File.WriteAllTextAsync(Path.Combine(dir, "records.conf"), recordsConf);
            // The script reads the very file the fixtures read (the copy built next to the test binaries).
            var r = await Run.ProcessAsync("bash", [Script, "start", dir, "--net", net, "--mx-base", mxBase.ToString(), "--zones", TestBedDefinition.DefaultPath],
                timeout: TimeSpan.FromSeconds(60));
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
