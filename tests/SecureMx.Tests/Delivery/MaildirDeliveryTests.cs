using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Delivery;

/// <summary>
/// Maildir delivery when storage fails: a fault at any step throws an <see cref="IOException"/> (which the
/// queue turns into a deferral, 4.2.0), leaves no file in tmp/ and nothing new in new/, and the attempt
/// after the fault clears delivers exactly one copy.
/// </summary>
public sealed class MaildirDeliveryTests
{
    private const string Mailbox = "mail/example.org/alice";
    private static readonly byte[] Headers = "Return-Path: <sender@remote.example>\r\n"u8.ToArray();

    private static byte[] Message(int n)
    {
        var body = new byte[200 * 1024]; // several 64 KiB copy blocks: a write in the middle exists
        new Random(n).NextBytes(body);
        return body;
    }

    private static string[] FilesIn(TempDirectory dir, string sub) => Directory.GetFiles(dir.Combine(Mailbox, sub));

    /// <summary>Consecutive repeats folded: the protocol's steps in order.</summary>
    private static List<DurableStep> Protocol(IEnumerable<SeenStep> steps)
    {
        var list = new List<DurableStep>();
        foreach (var s in steps)
        {
            if (list.Count == 0 || list[^1] != s.Step) list.Add(s.Step);
        }
        return list;
    }

    // With a mode and group the delivery goes through directory descriptors (openat, renameat, fsync of new/'s
    // descriptor): the same steps pass the same seam.
    private static MailFileAccess? AccessFor(bool groupMayWrite) =>
        groupMayWrite ? MailFileAccess.From(new DeliveryOptions { MailFileMode = "0660", MailGroup = "daemon" }) : null;

    // Without a mode or group: an unnamed file (O_TMPFILE) linked into new/, or tmp/ + rename where the file
    // system has none; both pass the seam as Create, Write, Flush, SyncFile, Rename (the link), SyncDirectory.
    [Theory]
    [InlineData(Errno.ENOSPC, false, true)]
    [InlineData(Errno.EIO, false, true)]
    [InlineData(Errno.ENOSPC, false, false)]
    [InlineData(Errno.EIO, false, false)]
    [InlineData(Errno.ENOSPC, true, false)]
    [InlineData(Errno.EIO, true, false)]
    public async Task AFaultAtAnyStepLeavesNoFileAndTheNextAttemptDeliversExactlyOneCopy(Errno errno, bool groupMayWrite, bool unnamedFiles)
    {
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        var files = new DurableFiles(faults);
        var ct = TestContext.Current.CancellationToken;
        // A new instance per attempt, as after a restart: it makes the Maildir's own entries durable first.
        Task<string> DeliverAsync(byte[] message) =>
            new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, files, AccessFor(groupMayWrite)) { UnnamedFiles = unnamedFiles }
                .DeliverAsync(Mailbox, Headers, () => new MemoryStream(message), ct);

        faults.ForgetSteps();
        var delivered = new Dictionary<string, byte[]> { [await DeliverAsync(Message(0))] = Message(0) };
        var steps = faults.Steps;
        Assert.Equal([DurableStep.SyncDirectory, DurableStep.Create, DurableStep.Write, DurableStep.Flush, DurableStep.SyncFile, DurableStep.Rename, DurableStep.SyncDirectory],
            Protocol(steps));

        int n = 1;
        foreach (var group in steps.GroupBy(s => (s.Step, s.Directory)))
        {
            foreach (var nth in group.Count() > 2 ? [1, group.Count() / 2] : new[] { 1 })
            {
                var when = $"{errno} at {group.Key.Step} #{nth} in {group.Key.Directory}";
                faults.Fail(group.Key.Step, errno, p => Path.GetDirectoryName(p) == group.Key.Directory, nth);
                var message = Message(n++);
                var failed = await Assert.ThrowsAnyAsync<IOException>(() => DeliverAsync(message));
                Assert.True(failed is DurableStepException { } d && d.Step == group.Key.Step && d.HResult == (int)errno, $"{when}: {failed}");
                Assert.Empty(FilesIn(dir, "tmp"));
                Assert.Equal(delivered.Keys.Order(), FilesIn(dir, "new").Order());

                faults.Clear();
                var path = await DeliverAsync(message);
                delivered[path] = message;
                Assert.Empty(FilesIn(dir, "tmp"));
                Assert.Equal(delivered.Keys.Order(), FilesIn(dir, "new").Order());
            }
        }
        foreach (var (path, message) in delivered) Assert.Equal([.. Headers, .. message], File.ReadAllBytes(path));
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public async Task AFailedFsyncOfNewTakesTheRenamedFileBackSoThatTheRetryMakesNoSecondCopy(bool groupMayWrite, bool unnamedFiles)
    {
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        var delivery = new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, new DurableFiles(faults), AccessFor(groupMayWrite)) { UnnamedFiles = unnamedFiles };
        var newDir = dir.Combine(Mailbox, "new");
        faults.Fail(DurableStep.SyncDirectory, Errno.EIO, p => p == newDir);
        await Assert.ThrowsAsync<DurableStepException>(() =>
            delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream(Message(1)), TestContext.Current.CancellationToken));
        Assert.Contains(faults.Steps, s => s.Step == DurableStep.Rename); // it had been renamed into new/ ...
        Assert.Empty(Directory.GetFiles(newDir)); // ... and was taken back
        await delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream(Message(1)), TestContext.Current.CancellationToken);
        Assert.Single(Directory.GetFiles(newDir));
    }

    // A file is announced to the shared fsync of new/ before its own fsync (CoalescingDirectorySync): one that fails
    // after that must withdraw, or every later delivery into the Maildir would wait for its entry.
    [Theory]
    [InlineData(DurableStep.SyncFile, true)]
    [InlineData(DurableStep.Rename, true)]
    [InlineData(DurableStep.SyncFile, false)]
    [InlineData(DurableStep.Rename, false)]
    public async Task AFileThatFailsAfterItsAnnouncementHoldsUpNoLaterDeliveryIntoTheMaildir(DurableStep step, bool unnamedFiles)
    {
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        var delivery = new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, new DurableFiles(faults)) { UnnamedFiles = unnamedFiles };
        var ct = TestContext.Current.CancellationToken;
        faults.Fail(step, Errno.EIO, _ => true);
        await Assert.ThrowsAsync<DurableStepException>(() => delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream(Message(1)), ct));

        faults.Clear();
        var delivered = await delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream(Message(2)), ct).WaitAsync(TimeSpan.FromSeconds(10), ct);
        Assert.Equal([delivered], FilesIn(dir, "new"));
    }

    [Fact]
    public async Task AnUnnamedFileIsLinkedIntoNewWithTheMessageAndNothingEverAppearsInTmp()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "O_TMPFILE is Linux's");
        using var dir = new TempDirectory();
        var faults = new StorageFaultPlan();
        var delivery = new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, new DurableFiles(faults));
        var path = await delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream(Message(1)), TestContext.Current.CancellationToken);
        Assert.Equal(dir.Combine(Mailbox, "new"), Path.GetDirectoryName(path));
        Assert.Equal([.. Headers, .. Message(1)], File.ReadAllBytes(path));
        Assert.EndsWith(",S=" + (Headers.Length + Message(1).Length), path);
        Assert.Empty(FilesIn(dir, "tmp"));
        // Every file step is on new/: nothing was named in tmp/ and renamed out of it.
        Assert.All(faults.Steps.Where(s => s.Step != DurableStep.SyncDirectory), s => Assert.Equal(dir.Combine(Mailbox, "new"), s.Directory));
    }
}
