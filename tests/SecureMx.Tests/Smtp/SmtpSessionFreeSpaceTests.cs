using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Smtp;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// The free-space guard at MAIL FROM (limits.minFreeDiskMb, Postfix's queue_minfree): below the floor
/// a new transaction gets 452 4.3.1 before any byte of content is sent, on the MX and the submission
/// listener alike; a SIZE= the free space cannot hold above the floor is refused the same way; the
/// refusals do not count toward the error limit; once space returns mail is accepted again.
/// </summary>
public sealed class SmtpSessionFreeSpaceTests
{
    private const long MiB = 1024 * 1024;

    private sealed class Disk
    {
        public long Free = 10_000 * MiB;
        public (long, long) Measure(string _) => (Free, 100_000 * MiB);
    }

    private static (FreeSpaceGuard Guard, FakeTimeProvider Time) Guard(Disk disk)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero));
        return (new FreeSpaceGuard("/spool", 512, time, NullLogger.Instance, disk.Measure), time);
    }

    [Fact]
    public async Task BelowTheFloorMailFromGets452BeforeAnyContentAndMailFlowsAgainOnceSpaceReturns()
    {
        var disk = new Disk { Free = 100 * MiB };
        var (guard, time) = Guard(disk);
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxErrors = 3, freeSpace: guard);
        await using var c = await server.ConnectEhloAsync();
        for (int i = 0; i < 4; i++) // more than limits.maxErrors (with the two errors below): the server's disk is not the client's error
        {
            var refused = await c.CommandAsync("MAIL FROM:<sender@remote.example>", 452, "4.3.1");
            Assert.Contains("insufficient system storage", refused.Lines[0]);
        }
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503); // no transaction was opened
        await c.CommandAsync("DATA", 503);
        Assert.Empty(server.IncomingFiles());

        disk.Free = 5_000 * MiB;
        time.Advance(FreeSpaceGuard.CacheFor);
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: space again\r\n\r\nok\r\n"u8.ToArray());
        Assert.Equal([id], server.Spool.Queue.AllMessageIds());
    }

    [Fact]
    public async Task ADeclaredSizeTheFreeSpaceCannotHoldAboveTheFloorGets452AndASmallerOne250()
    {
        var disk = new Disk { Free = 600 * MiB };
        var (guard, _) = Guard(disk);
        await using var server = await SmtpTestServer.StartAsync(o => o.Limits.MaxMessageSize = 1024 * MiB, freeSpace: guard);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync($"MAIL FROM:<sender@remote.example> SIZE={100 * MiB}", 452, "4.3.1");
        await c.CommandAsync($"MAIL FROM:<sender@remote.example> SIZE={10 * MiB}", 250);
    }

    [Fact]
    public async Task SubmissionIsRefusedBelowTheFloorToo()
    {
        var disk = new Disk { Free = 1 * MiB };
        var (guard, _) = Guard(disk);
        await using var server = await SmtpTestServer.StartAsync(o => o.Auth.FailureDelay = "0s", listener: ListenerSettings.SubmissionStartTls, freeSpace: guard);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        await c.EhloAsync();
        var plain = Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"\0alice@example.org\0{SmtpTestServer.Password}"));
        await c.CommandAsync("AUTH PLAIN " + plain, 235, "2.7.0");
        await c.CommandAsync("MAIL FROM:<alice@example.org>", 452, "4.3.1");
    }

    [Fact]
    public async Task WithTheGuardOffAnEmptyDiskReadingRefusesNothingAtMailFrom()
    {
        await using var server = await SmtpTestServer.StartAsync(); // no guard given: off, as limits.minFreeDiskMb = 0
        Assert.False(server.Spool.FreeSpace.Enabled);
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
    }
}
