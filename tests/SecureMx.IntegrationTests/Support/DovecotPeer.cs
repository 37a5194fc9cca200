using System.Diagnostics;
using System.Net;
using System.Text;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A private Dovecot serving one SecureMx instance, with exactly the configuration `securemx
/// dovecot-config` prints for it (own base_dir, logs and listeners; no system service), started
/// as `dovecot -F -c FILE`. Tests reach it only through its sockets, as a mail client would.
/// </summary>
public sealed class DovecotPeer : IAsyncDisposable
{
    public SecureMxInstance Instance { get; }
    public IPEndPoint Imap { get; }
    public IPEndPoint Imaps { get; }
    public IPEndPoint Pop3 { get; }
    public IPEndPoint Pop3s { get; }
    public string ConfigFile { get; }
    public string LogFile => Path.Combine(Instance.DataDir, "dovecot", "dovecot.log");
    private Process? _process;
    private readonly StringBuilder _output = new();

    private DovecotPeer(SecureMxInstance instance, IPEndPoint imap, IPEndPoint imaps, IPEndPoint pop3, IPEndPoint pop3s, string configFile)
    {
        Instance = instance;
        Imap = imap;
        Imaps = imaps;
        Pop3 = pop3;
        Pop3s = pop3s;
        ConfigFile = configFile;
    }

    /// <summary>Generates the configuration for <paramref name="instance"/> (before its serve starts: it sets delivery.lmtp) and starts Dovecot.</summary>
    public static async Task<DovecotPeer> StartAsync(SecureMxInstance instance, params string[] extraArgs)
    {
        Assert.True(Run.Exists("dovecot"), "dovecot is not installed: run scripts/install-test-deps.sh");
        var (imap, imaps, pop3, pop3s) = (Net.FreeEndpoint(), Net.FreeEndpoint(), Net.FreeEndpoint(), Net.FreeEndpoint());
        var generated = await instance.Cli(["dovecot-config", "--imap", Net.Text(imap), "--imaps", Net.Text(imaps), "--pop3", Net.Text(pop3), "--pop3s", Net.Text(pop3s), .. extraArgs]);
        Assert.True(generated.ExitCode == 0, "dovecot-config failed: " + generated.All);
        var configFile = Path.Combine(Path.GetTempPath(), $"securemx-it-dovecot-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(configFile, generated.StdOut);
        File.SetUnixFileMode(configFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var peer = new DovecotPeer(instance, imap, imaps, pop3, pop3s, configFile);
        await peer.StartAsync();
        return peer;
    }

    /// <summary>Appends configuration (a test's own additions, e.g. a quota) and restarts when running.</summary>
    public async Task AppendConfigAsync(string text)
    {
        await File.AppendAllTextAsync(ConfigFile, "\n" + text + "\n");
        if (_process is not null)
        {
            await StopAsync();
            await StartAsync();
        }
    }

    public async Task StartAsync()
    {
        _process = Run.StartCapturing(new ProcessStartInfo("dovecot", ["-F", "-c", ConfigFile]), _output);
        try
        {
            foreach (var ep in new[] { Imap, Imaps, Pop3, Pop3s }) await Net.WaitForPortAsync(ep, TimeSpan.FromSeconds(20));
        }
        catch (Exception)
        {
            throw new InvalidOperationException("dovecot did not open its ports; output:\n" + Output + "\nlog:\n" + Log);
        }
    }

    /// <summary>SIGTERM, and wait until the master and its children are gone.</summary>
    public async Task StopAsync()
    {
        if (_process is null) return;
        await Run.ProcessAsync("kill", ["-TERM", _process.Id.ToString()]);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await _process.WaitForExitAsync(cts.Token);
        _process.Dispose();
        _process = null;
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    public string Log => File.Exists(LogFile) ? File.ReadAllText(LogFile) : "";

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (Exception) when (_process is not null)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        }
        try { File.Delete(ConfigFile); } catch (IOException) { }
    }
}
