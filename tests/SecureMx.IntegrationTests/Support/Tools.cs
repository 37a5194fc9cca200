using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace SecureMx.IntegrationTests.Support;

public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public string All => StdOut + StdErr;
}

/// <summary>Runs external programs (securemx CLI, swaks, postfix tools) with a timeout.</summary>
public static class Run
{
    public static async Task<ProcessResult> ProcessAsync(string file, IEnumerable<string> args, string? stdin = null, TimeSpan? timeout = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish in time");
        }
        return new ProcessResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>The repository's root folder (where SecureMx.slnx is), found from the test binaries upwards.</summary>
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureMx.slnx"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>Path of the securemx.dll built next to the tests (the ProjectReference copies it).</summary>
    public static string SecureMxDll => Path.Combine(AppContext.BaseDirectory, "securemx.dll");

    /// <summary>
    /// securemx.dll in a copy of the server's build output that every user can read (the checkout may
    /// live in a home directory only root enters), for instances that run as a user of their own.
    /// </summary>
    public static string SecureMxDllForAnyUser => ReadableCopy.Value;

    private static readonly Lazy<string> ReadableCopy = new(() =>
    {
        var bin = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')); // tests/X/bin/CONFIG/TFM
        var source = Path.Combine(RepoRoot, "src", "SecureMx", "bin", bin.Parent!.Name, bin.Name);
        var copy = Path.Combine(Path.GetTempPath(), $"securemx-it-bin-{Environment.ProcessId}");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(copy, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
        foreach (var d in Directory.EnumerateDirectories(copy, "*", SearchOption.AllDirectories).Append(copy))
            File.SetUnixFileMode(d, (UnixFileMode)0b111_101_101);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(copy, recursive: true); } catch (IOException) { } };
        return Path.Combine(copy, "securemx.dll");
    });

    public static Task<ProcessResult> SecureMxAsync(params string[] args) => ProcessAsync("dotnet", new[] { SecureMxDll }.Concat(args));

    public static Task<ProcessResult> SecureMxWithStdinAsync(string stdin, params string[] args) => ProcessAsync("dotnet", new[] { SecureMxDll }.Concat(args), stdin);

    /// <summary>Starts a long-running process whose stdout and stderr lines are appended to <paramref name="output"/> (under its lock).</summary>
    public static Process StartCapturing(ProcessStartInfo psi, StringBuilder output)
    {
        psi.RedirectStandardOutput = psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    public static bool Exists(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Concat(["/usr/sbin", "/sbin"]).Any(d => File.Exists(Path.Combine(d, program)));
}

/// <summary>Loopback addresses and free ports for test instances (every 127/8 address reaches this machine).</summary>
public static class Net
{
    private static int _next = 10;

    /// <summary>A fresh loopback address in 127.0.3.0/24 with a port that was free a moment ago.</summary>
    public static IPEndPoint FreeEndpoint()
    {
        var host = Interlocked.Increment(ref _next) % 250 + 2;
        var address = IPAddress.Parse($"127.0.3.{host}");
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new IPEndPoint(address, 0));
        return (IPEndPoint)s.LocalEndPoint!;
    }

    public static async Task WaitForPortAsync(IPEndPoint ep, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                using var c = new TcpClient();
                await c.ConnectAsync(ep.Address, ep.Port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    /// <summary>ADDR:PORT as the configuration and the peers' scripts write it ([::1]:PORT for IPv6).</summary>
    public static string Text(IPEndPoint ep) => ep.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{ep.Address}]:{ep.Port}" : $"{ep.Address}:{ep.Port}";

    /// <summary>A free port on every address of both families (a dual-stack [::] socket could bind it).</summary>
    public static int FreeDualStackPort()
    {
        using var s = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp) { DualMode = true };
        s.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
        return ((IPEndPoint)s.LocalEndPoint!).Port;
    }
}

/// <summary>Reads and writes raw SMTP so tests control every byte (and see every reply).</summary>
public sealed class RawSmtp : IAsyncDisposable
{
    private readonly TcpClient _client = new();
    private Stream _stream = null!;
    private readonly List<byte> _pending = new();

    public static async Task<RawSmtp> ConnectAsync(IPEndPoint ep)
    {
        var s = new RawSmtp();
        await s._client.ConnectAsync(ep.Address, ep.Port);
        s._stream = s._client.GetStream();
        return s;
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Reads one complete (possibly multi-line) reply; returns its lines.</summary>
    public async Task<List<string>> ReadReplyAsync(TimeSpan? timeout = null)
    {
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var line = await ReadLineAsync(cts.Token) ?? throw new IOException("connection closed while reading a reply; got: " + string.Join(" | ", lines));
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-') return lines;
        }
    }

    public async Task<string> CommandAsync(string line)
    {
        await SendAsync(line + "\r\n");
        return string.Join("\n", await ReadReplyAsync());
    }

    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var buf = new byte[4096];
        while (true)
        {
            int idx = _pending.IndexOf((byte)'\n');
            if (idx >= 0)
            {
                var line = Encoding.UTF8.GetString(_pending.GetRange(0, idx).ToArray()).TrimEnd('\r');
                _pending.RemoveRange(0, idx + 1);
                return line;
            }
            int n = await _stream.ReadAsync(buf, ct);
            if (n == 0) return null;
            _pending.AddRange(buf.AsSpan(0, n).ToArray());
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
    }
}
