using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Packaging;

/// <summary>
/// Type=notify in securemx.service: under systemd, serve sends READY=1 only once every listener
/// accepts, and STOPPING=1 at SIGTERM. Without a running systemd the test plays its part: the parent
/// process is named systemd (that is how .NET recognises a service) and NOTIFY_SOCKET is the test's socket.
/// </summary>
public sealed class SystemdReadinessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("securemx-notify-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Serve_reports_ready_after_every_listener_is_bound_and_stopping_at_sigterm()
    {
        var ct = TestContext.Current.CancellationToken;
        var dashboard = Net.FreeEndpoint();
        await using var instance = await SecureMxInstance.CreateAsync(dashboard: dashboard, submission: true);

        var notifyPath = Path.Combine(_dir, "notify");
        using var notify = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        notify.Bind(new UnixDomainSocketEndPoint(notifyPath));

        // A shell under the name systemd, as the service manager would be: serve is its child.
        var systemd = Path.Combine(_dir, "systemd");
        File.CreateSymbolicLink(systemd, "/bin/bash");
        var pidFile = Path.Combine(_dir, "serve.pid");
        var psi = new ProcessStartInfo(systemd);
        foreach (var a in new[] { "-c", "dotnet \"$0\" serve --data \"$1\" & echo $! > \"$2\"; wait $!", Run.SecureMxDll, instance.DataDir, pidFile }) psi.ArgumentList.Add(a);
        psi.Environment["NOTIFY_SOCKET"] = notifyPath;
        var log = new StringBuilder();
        using var manager = Run.StartCapturing(psi, log);
        try
        {
            var ready = await ReceiveAsync(notify, TimeSpan.FromSeconds(60), log, ct);
            Assert.Equal("READY=1", ready);
            // At READY every listener accepts at once: no wait, no retry.
            foreach (var ep in new[] { instance.Mx, instance.Submission!, instance.Submissions!, dashboard })
            {
                using var client = new TcpClient();
                await client.ConnectAsync(ep.Address, ep.Port, ct);
            }

            var pid = (await File.ReadAllTextAsync(pidFile, ct)).Trim();
            var kill = await Run.ProcessAsync("kill", ["-TERM", pid]);
            Assert.True(kill.ExitCode == 0, kill.All);
            Assert.Equal("STOPPING=1", await ReceiveAsync(notify, TimeSpan.FromSeconds(30), log, ct));
            using var exit = CancellationTokenSource.CreateLinkedTokenSource(ct);
            exit.CancelAfter(TimeSpan.FromSeconds(60));
            await manager.WaitForExitAsync(exit.Token);
            Assert.True(manager.ExitCode == 0, "serve exit " + manager.ExitCode + "\n" + log);
        }
        finally
        {
            if (!manager.HasExited) manager.Kill(entireProcessTree: true);
        }
    }

    private static async Task<string> ReceiveAsync(Socket socket, TimeSpan timeout, StringBuilder log, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        var buffer = new byte[4096];
        try
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
            return Encoding.UTF8.GetString(buffer, 0, n).Trim();
        }
        catch (OperationCanceledException)
        {
            lock (log) throw new TimeoutException("no sd_notify message; serve's log:\n" + log);
        }
    }
}
