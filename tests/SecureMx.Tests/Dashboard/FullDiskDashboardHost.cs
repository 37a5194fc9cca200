using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;

namespace SecureMx.Tests.Dashboard;

/// <summary>
/// A dashboard on a fake clock whose store and spool lie on a small tmpfs of their own — a real file
/// system that a test fills to the last page (<see cref="Fill"/>). Mounting needs root (tests run as
/// root); where it is not permitted, <see cref="MountFailure"/> says why and the tests skip.
/// </summary>
public sealed class FullDiskDashboardHost : DashboardTestHost
{
    private bool _mounted;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public override TimeProvider Time => Clock;

    /// <summary>Why the tmpfs could not be mounted (the directory is then an ordinary one); null when it is mounted.</summary>
    public string? MountFailure { get; private set; }

    protected override bool StoreInHostDirectory => true;

    protected override bool GuardsSpoolFreeSpace => true;

    protected override async Task PrepareAsync()
    {
        var (exitCode, output) = await RunAsync("mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", HostDirectory);
        _mounted = exitCode == 0;
        MountFailure = _mounted ? null : $"cannot mount a tmpfs (needs root or CAP_SYS_ADMIN): {output.Trim()}";
    }

    // Every write since here grows the write-ahead log from nothing, so the first write after Fill needs a new page.
    protected override Task SeedAsync()
    {
        Store.Database.Execute("PRAGMA wal_checkpoint(TRUNCATE);");
        return Task.CompletedTask;
    }

    /// <summary>Writes one file until the file system refuses (ENOSPC): not one page left.</summary>
    public void Fill()
    {
        using var filler = new FileStream(Path.Combine(HostDirectory, "filler"), FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        foreach (var block in new[] { new byte[64 * 1024], new byte[4096] })
        {
            try
            {
                while (true) filler.Write(block);
            }
            catch (IOException ex) when (ex.HResult == 28)
            {
            }
        }
        Assert.Equal(0, new DriveInfo(HostDirectory).AvailableFreeSpace);
    }

    protected override async Task CleanUpAsync()
    {
        if (!_mounted) return;
        if ((await RunAsync("umount", HostDirectory)).ExitCode != 0) await RunAsync("umount", "-l", HostDirectory);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] args)
    {
        using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await stdout + await stderr);
    }
}
