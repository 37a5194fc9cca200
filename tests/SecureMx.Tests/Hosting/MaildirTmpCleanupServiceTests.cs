using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Hosting;

/// <summary>
/// The background cleanup of the Maildirs' tmp/ in `serve`: at start and then daily on the
/// TimeProvider, 36 hours as the limit, one log line per run with the count; with LMTP delivery only
/// the instance's postmaster Maildir, the others being the mailbox server's; a Maildir reached
/// through a link is not touched.
/// </summary>
public sealed class MaildirTmpCleanupServiceTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    // The files the test makes carry the real time: the fake clock starts 37 hours later, so they are stale.
    private readonly SteppingTimeProvider _clock = new(DateTimeOffset.UtcNow.AddHours(37));
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public void Dispose() => _dir.Dispose();

    private string Leftover(string maildirRelative, string name)
    {
        var maildir = _dir.Combine(maildirRelative);
        MaildirDelivery.EnsureMaildir(maildir);
        var path = Path.Combine(maildir, "tmp", name);
        File.WriteAllText(path, "a delivery killed before its rename");
        return path;
    }

    private MaildirTmpCleanupService Service(string lmtp = "") =>
        new(_dir.Path, new SecureMxOptions { Hostname = "mx.example.test", Delivery = { Lmtp = lmtp } }, _clock,
            new SecureMx.Tests.Queue.RecordingLogger<MaildirTmpCleanupService>(_lines));

    private static async Task WaitAsync(string what, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task LeftoversGoAtStartAndThenDailyWithOneLogLinePerRun()
    {
        var alice = Leftover("mail/example.test/alice", "1.M1P1Q1.mx");
        var bob = Leftover("mail/example.test/bob", "1.M2P1Q2.mx");
        var postmaster = Leftover("mail/postmaster", "1.M3P1Q3.mx");
        var service = Service();

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitAsync("the cleanup at start", () => !File.Exists(alice) && !File.Exists(bob) && !File.Exists(postmaster));
            await WaitAsync("its log line", () => _lines.Count == 1);
            Assert.Equal("Information: Maildir cleanup: removed 3 file(s) older than 36 h from tmp/ of 3 Maildir(s)", Assert.Single(_lines));

            // A new leftover (real time: 37 h before the fake now) goes at the next daily run, not before.
            var later = Leftover("mail/example.test/alice", "2.M4P1Q4.mx");
            await WaitAsync("the daily timer", () => _clock.NextPending is { } t && t.Due == _clock.GetUtcNow() + MaildirTmpCleanupService.Interval);
            _clock.MoveTo(_clock.GetUtcNow() + MaildirTmpCleanupService.Interval - TimeSpan.FromMinutes(1));
            await Task.Delay(50, TestContext.Current.CancellationToken);
            Assert.True(File.Exists(later));
            _clock.MoveTo(_clock.GetUtcNow() + TimeSpan.FromMinutes(1));
            await WaitAsync("the daily cleanup", () => !File.Exists(later));
            await WaitAsync("its log line", () => _lines.Count == 2);
            Assert.Equal("Information: Maildir cleanup: removed 1 file(s) older than 36 h from tmp/ of 3 Maildir(s)", _lines.Last());
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void WithLmtpDeliveryOnlyThePostmasterMaildirIsCleaned()
    {
        var alice = Leftover("mail/example.test/alice", "1.M1P1Q1.mx");
        var postmaster = Leftover("mail/postmaster", "1.M3P1Q3.mx");

        Assert.Equal(1, Service(lmtp: "unix:/run/dovecot/lmtp").RunOnce());

        Assert.True(File.Exists(alice)); // Dovecot's
        Assert.False(File.Exists(postmaster));
    }

    [Fact]
    public void AMaildirOrDomainReachedThroughALinkIsNotTouched()
    {
        var elsewhere = Leftover("elsewhere/maildir", "1.M1P1Q1.mx");
        var otherDomain = Leftover("elsewhere/domain/carol", "1.M2P1Q2.mx");
        Directory.CreateDirectory(_dir.Combine("mail", "example.test"));
        Directory.CreateSymbolicLink(_dir.Combine("mail", "example.test", "alice"), _dir.Combine("elsewhere", "maildir"));
        Directory.CreateSymbolicLink(_dir.Combine("mail", "other.test"), _dir.Combine("elsewhere", "domain"));

        Assert.Equal(0, Service().RunOnce());

        Assert.True(File.Exists(elsewhere));
        Assert.True(File.Exists(otherDomain));
        Assert.Empty(_lines); // nothing removed: no line
    }
}
