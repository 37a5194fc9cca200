using SecureMx.Delivery;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Delivery;

/// <summary>
/// What the cleanup of a Maildir's tmp/ removes: regular files directly in tmp/ untouched since the
/// cutoff — nothing in new/ or cur/, nothing newer, no link and nothing a link points to, nothing in
/// a subdirectory, no pipe, and nothing at all when tmp/ is itself a link.
/// </summary>
public sealed class MaildirTmpCleanupTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _maildir;
    private readonly DateTimeOffset _cutoff = DateTimeOffset.UtcNow.AddHours(1); // every file made now is older

    public MaildirTmpCleanupTests()
    {
        _maildir = _dir.Combine("mail", "example.test", "alice");
        MaildirDelivery.EnsureMaildir(_maildir);
    }

    public void Dispose() => _dir.Dispose();

    private string Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "partial delivery");
        return path;
    }

    private static async Task RunAsync(string file, params string[] args)
    {
        var p = System.Diagnostics.Process.Start(file, args);
        await p.WaitForExitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, p.ExitCode);
    }

    [Fact]
    public async Task OnlyStaleRegularFilesDirectlyInTmpAreRemoved()
    {
        var stale = Write(Path.Combine(_maildir, "tmp", "1700000000.M1P1Q1.mx"));
        var stale2 = Write(Path.Combine(_maildir, "tmp", "1700000000.M2P1Q2.mx"));
        var fresh = Write(Path.Combine(_maildir, "tmp", "1700000000.M3P1Q3.mx"));
        File.SetLastWriteTimeUtc(fresh, _cutoff.UtcDateTime.AddMinutes(5)); // written after the cutoff
        var delivered = Write(Path.Combine(_maildir, "new", "1700000000.M4P1Q4.mx,S=16"));
        var read = Write(Path.Combine(_maildir, "cur", "1700000000.M5P1Q5.mx,S=16:2,S"));
        var nested = Write(Path.Combine(_maildir, "tmp", "sub", "inside"));
        var outside = Write(_dir.Combine("outside", "precious"));
        var link = Path.Combine(_maildir, "tmp", "link-to-precious");
        File.CreateSymbolicLink(link, outside);
        var pipe = Path.Combine(_maildir, "tmp", "pipe");
        await RunAsync("mkfifo", pipe);

        var result = MaildirTmpCleanup.Clean(_maildir, _cutoff);

        Assert.Equal(new MaildirTmpCleanup.Result(2, 0), result);
        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(stale2));
        Assert.All(new[] { fresh, delivered, read, nested, outside, pipe }, f => Assert.True(File.Exists(f), f));
        Assert.NotNull(new FileInfo(link).LinkTarget); // the link itself stays too
    }

    [Fact]
    public void ATmpThatIsALinkIsNotFollowed()
    {
        var elsewhere = _dir.Combine("elsewhere");
        var precious = Write(Path.Combine(elsewhere, "precious"));
        var tmp = Path.Combine(_maildir, "tmp");
        Directory.Delete(tmp);
        Directory.CreateSymbolicLink(tmp, elsewhere);

        Assert.Equal(default, MaildirTmpCleanup.Clean(_maildir, _cutoff));
        Assert.True(File.Exists(precious));
    }

    [Fact]
    public async Task ATmpSwappedForALinkWhileTheCleanupRunsNeverCostsTheLinkedDirectoryAFile()
    {
        // A group member swapping tmp/ for a link to a directory with old files, and back, as fast as it can,
        // while cleanups run: whatever the cleanup found when it opened tmp/ is all it may touch.
        var elsewhere = _dir.Combine("elsewhere");
        var precious = Enumerable.Range(0, 50).Select(i => Write(Path.Combine(elsewhere, $"precious{i}"))).ToArray();
        var tmp = Path.Combine(_maildir, "tmp");
        var real = Path.Combine(_maildir, "tmp.real");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var swapper = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                Directory.Move(tmp, real);
                File.CreateSymbolicLink(tmp, elsewhere);
                Thread.SpinWait(20000);
                File.Delete(tmp);
                Directory.Move(real, tmp);
                // Stale files by the same names: a cleanup that lists tmp/ and then removes by path would remove the others.
                foreach (var f in precious) Write(Path.Combine(tmp, Path.GetFileName(f)));
            }
        }, TestContext.Current.CancellationToken);
        while (!stop.IsCancellationRequested && precious.All(File.Exists))
        {
            MaildirTmpCleanup.Clean(_maildir, _cutoff);
        }
        await stop.CancelAsync();
        await swapper;
        Assert.All(precious, f => Assert.True(File.Exists(f), f));
    }

    [Fact]
    public void NothingIsRemovedBeforeItIsOlderThanTheCutoff()
    {
        var file = Write(Path.Combine(_maildir, "tmp", "1700000000.M1P1Q1.mx"));

        Assert.Equal(default, MaildirTmpCleanup.Clean(_maildir, DateTimeOffset.UtcNow.AddHours(-1)));
        Assert.True(File.Exists(file));
    }
}
