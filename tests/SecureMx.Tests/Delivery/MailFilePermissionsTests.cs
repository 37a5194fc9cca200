using System.Diagnostics;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.Queue;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Delivery;

/// <summary>
/// A Maildir delivery gives the message file and the Maildir the configured mode and group, whatever the
/// umask (the service's 0027 would take the group's write bit), the directories above it (DIR/mail,
/// DIR/mail/DOMAIN) and the data directory only the group's search bit; a symbolic link a group member
/// planted on the way is refused (the delivery is deferred), never followed. The default leaves everything
/// as it was (0600/0700, the process's group, the data directory untouched). The tests run as root, who may
/// give files to any group.
/// </summary>
public sealed class MailFilePermissionsTests
{
    private const string Mailbox = "mail/example.org/alice";
    private static readonly byte[] Headers = "Return-Path: <sender@remote.example>\r\n"u8.ToArray();
    private const int Daemon = 1; // a group every Debian system has, not root's

    private static int GroupOf(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", "%g", path]) { RedirectStandardOutput = true })!;
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return int.Parse(output.Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static string Mode(string path) => Convert.ToString((int)File.GetUnixFileMode(path), 8).PadLeft(4, '0');

    private static Task<string> DeliverAsync(TempDirectory dir, MailFileAccess? access) =>
        new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, access: access)
            .DeliverAsync(Mailbox, Headers, () => new MemoryStream("Subject: x\r\n\r\nbody\r\n"u8.ToArray()), TestContext.Current.CancellationToken);

    [Fact]
    public async Task TheFileAndItsMaildirGetTheConfiguredModeAndGroupDespiteTheUmask()
    {
        using var dir = new TempDirectory();
        File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var access = new MailFileAccess(
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
            MailFileAccess.DirectoryModeFor(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite), Daemon, "daemon");
        const UnixFileMode OwnerRwGroupROtherR = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        File.WriteAllText(dir.Combine("securemx.db"), "");
        File.SetUnixFileMode(dir.Combine("securemx.db"), OwnerRwGroupROtherR);
        Directory.CreateDirectory(dir.Combine("spool"), OwnerRwGroupROtherR | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        using var outside = new TempDirectory();
        File.WriteAllText(outside.Combine("target"), "");
        File.SetUnixFileMode(outside.Combine("target"), OwnerRwGroupROtherR);
        File.CreateSymbolicLink(dir.Combine("link"), outside.Combine("target"));
        // The test runner's umask (022) would take the group's write bit if the mode were only given to open(2).
        var file = await DeliverAsync(dir, access);
        Assert.Equal("0660", Mode(file));
        Assert.Equal(Daemon, GroupOf(file));
        foreach (var d in new[] { Mailbox, Mailbox + "/tmp", Mailbox + "/new", Mailbox + "/cur" })
        {
            Assert.Equal(("0770", Daemon), (Mode(dir.Combine(d)), GroupOf(dir.Combine(d))));
        }
        // Above the Maildir the group only passes through: it can neither list nor replace what is there.
        foreach (var d in new[] { "mail", "mail/example.org" })
        {
            Assert.Equal(("0710", Daemon), (Mode(dir.Combine(d)), GroupOf(dir.Combine(d))));
        }
        // The data directory: the group may pass through it to DIR/mail, not list it.
        Assert.Equal("0710", Mode(dir.Path));
        Assert.Equal(Daemon, GroupOf(dir.Path));
        // ... where the group counts as "others" of everything else: closed to them; a link (and what it points to) left alone.
        Assert.Equal("0640", Mode(dir.Combine("securemx.db")));
        Assert.Equal("0750", Mode(dir.Combine("spool")));
        Assert.Equal("0644", Mode(outside.Combine("target")));
    }

    [Fact]
    public async Task TheDefaultKeepsOwnerOnlyModesAndLeavesTheDataDirectoryAlone()
    {
        using var dir = new TempDirectory();
        File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var before = GroupOf(dir.Path);
        var file = await DeliverAsync(dir, MailFileAccess.From(new DeliveryOptions()));
        Assert.Equal("0600", Mode(file));
        Assert.Equal("0700", Mode(dir.Combine(Mailbox, "new")));
        Assert.Equal("0700", Mode(dir.Path));
        Assert.Equal(before, GroupOf(dir.Path));
    }

    [Fact]
    public async Task AMaildirMadeBeforeTheSettingGetsItsModeAndGroupAtTheFirstDelivery()
    {
        using var dir = new TempDirectory();
        MaildirDelivery.EnsureMaildir(dir.Combine(Mailbox)); // 0700, root's group: as `mailbox add` left it before
        var access = MailFileAccess.From(new DeliveryOptions { MailFileMode = "0640", MailGroup = "daemon" });
        await DeliverAsync(dir, access);
        Assert.Equal(("0750", Daemon), (Mode(dir.Combine(Mailbox, "cur")), GroupOf(dir.Combine(Mailbox, "cur"))));
        Assert.Equal(("0710", Daemon), (Mode(dir.Combine("mail")), GroupOf(dir.Combine("mail"))));
    }

    private static MailFileAccess GroupReadsAndWrites => MailFileAccess.From(new DeliveryOptions { MailFileMode = "0660", MailGroup = "daemon" });

    [Fact]
    public async Task ADataDirectoryTheGroupCouldListKeepsOnlyItsSearchBitForTheGroup()
    {
        using var dir = new TempDirectory();
        // As install.sh leaves it: 0750, the group may list it.
        File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
        await DeliverAsync(dir, GroupReadsAndWrites);
        Assert.Equal(("0710", Daemon), (Mode(dir.Path), GroupOf(dir.Path)));
    }

    [Fact]
    public async Task AMaildirReplacedByALinkToTheDataDirectoryIsRefusedAndNothingIsChangedOrWrittenThroughIt()
    {
        using var dir = new TempDirectory();
        File.SetUnixFileMode(dir.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        await DeliverAsync(dir, GroupReadsAndWrites);
        var before = (Mode(dir.Path), GroupOf(dir.Path));
        // What a member of the mail group could do where it may write: the Maildir becomes a link to the data directory.
        Directory.Delete(dir.Combine(Mailbox), recursive: true);
        File.CreateSymbolicLink(dir.Combine(Mailbox), dir.Path);

        var ex = await Assert.ThrowsAsync<IOException>(() => DeliverAsync(dir, GroupReadsAndWrites)); // a new process: the Maildir is checked again
        Assert.StartsWith($"refusing {dir.Combine(Mailbox)}: a symbolic link", ex.Message);
        Assert.Equal(before, (Mode(dir.Path), GroupOf(dir.Path)));
        foreach (var sub in new[] { "tmp", "new", "cur" }) Assert.False(Path.Exists(dir.Combine(sub)), $"{sub}/ made through the link");
    }

    [Fact]
    public async Task ALinkInPlaceOfNewIsRefusedAndWhatItPointsToKeepsItsModeAndGetsNoMessage()
    {
        using var dir = new TempDirectory();
        using var outside = new TempDirectory();
        File.SetUnixFileMode(outside.Path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var group = GroupOf(outside.Path);
        await DeliverAsync(dir, GroupReadsAndWrites);
        Directory.Delete(dir.Combine(Mailbox, "new"), recursive: true);
        File.CreateSymbolicLink(dir.Combine(Mailbox, "new"), outside.Path);

        var ex = await Assert.ThrowsAsync<IOException>(() => DeliverAsync(dir, GroupReadsAndWrites));
        Assert.StartsWith($"refusing {dir.Combine(Mailbox, "new")}: a symbolic link", ex.Message);
        Assert.Equal(("0700", group), (Mode(outside.Path), GroupOf(outside.Path)));
        Assert.Empty(Directory.GetFileSystemEntries(outside.Path));
    }

    [Fact]
    public async Task ADeliveryThroughAPlantedLinkIsDeferredAndLoggedWithThePath()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => { o.Delivery.MailFileMode = "0660"; o.Delivery.MailGroup = "daemon"; });
        var data = h.DataDirectory;
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var maildir = Path.Combine(data, MailboxRepository.MaildirFor("alice", "example.test"));
        Directory.CreateDirectory(Path.GetDirectoryName(maildir)!);
        File.CreateSymbolicLink(maildir, data);

        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);
        Assert.Contains(h.LogLines, l => l.Contains($"{id}: to=<alice@example.test> relay=local status=deferred (refusing {maildir}: a symbolic link", StringComparison.Ordinal));
        Assert.Equal(RecipientState.Deferred, h.Recipient(id)!.State);
        Assert.Equal("0700", Mode(data));
        foreach (var sub in new[] { "tmp", "new", "cur" }) Assert.False(Path.Exists(Path.Combine(data, sub)), $"{sub}/ made through the link");
    }

    [Theory]
    [InlineData("tmp")]
    [InlineData("new")]
    public async Task ASubdirectorySwappedForALinkAfterTheFirstDeliveryIsRefusedAndNothingIsWrittenThroughIt(string sub)
    {
        using var dir = new TempDirectory();
        using var scratch = new TempDirectory();
        var delivery = new MaildirDelivery(dir.Path, "mx.test", TimeProvider.System, access: GroupReadsAndWrites);
        Task<string> Deliver() => delivery.DeliverAsync(Mailbox, Headers, () => new MemoryStream("Subject: x\r\n\r\nbody\r\n"u8.ToArray()), TestContext.Current.CancellationToken);
        await Deliver(); // the Maildir is walked, made and known to this instance from now on
        // What a member of the mail group may do in a Maildir it can write: the directory becomes a link.
        var swapped = dir.Combine(Mailbox, sub);
        Directory.Move(swapped, swapped + ".old");
        File.CreateSymbolicLink(swapped, scratch.Path);

        var ex = await Assert.ThrowsAsync<IOException>(Deliver);
        Assert.StartsWith($"refusing {swapped}: a symbolic link", ex.Message);
        Assert.Empty(Directory.GetFileSystemEntries(scratch.Path));
        Assert.Equal(scratch.Path, new FileInfo(swapped).LinkTarget);
        Assert.Single(Directory.GetFiles(dir.Combine(Mailbox, sub == "new" ? "new.old" : "new"))); // only the first message
        Assert.Empty(Directory.GetFiles(dir.Combine(Mailbox, sub == "tmp" ? "tmp.old" : "tmp")));
    }

    [Fact]
    public async Task ADeliveryAfterTmpWasSwappedForALinkIsDeferredAndTheLinkedDirectoryGetsNothing()
    {
        await using var h = await QueueRunnerHarness.CreateAsync(configure: o => { o.Delivery.MailFileMode = "0660"; o.Delivery.MailGroup = "daemon"; });
        using var scratch = new TempDirectory();
        var maildir = Path.Combine(h.DataDirectory, MailboxRepository.MaildirFor("alice", "example.test"));
        await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new"))); // delivered: the Maildir is known to the running deliverer
        var tmp = Path.Combine(maildir, "tmp");
        Directory.Delete(tmp);
        File.CreateSymbolicLink(tmp, scratch.Path);

        var id = await h.SendAsync([QueueRunnerHarness.LocalRecipient("alice")]);
        Assert.Contains(h.LogLines, l => l.Contains($"{id}: to=<alice@example.test> relay=local status=deferred (refusing {tmp}: a symbolic link", StringComparison.Ordinal));
        Assert.Equal(RecipientState.Deferred, h.Recipient(id)!.State);
        Assert.Empty(Directory.GetFileSystemEntries(scratch.Path));
        Assert.Equal(scratch.Path, new FileInfo(tmp).LinkTarget);
    }

    [Theory]
    [InlineData(System.Runtime.InteropServices.Architecture.X64, 0x10000, 0x20000)]
    [InlineData(System.Runtime.InteropServices.Architecture.Arm64, 0x4000, 0x8000)]
    [InlineData(System.Runtime.InteropServices.Architecture.Ppc64le, 0x4000, 0x8000)]
    public void TheOpenFlagsAreThoseOfTheArchitecture(System.Runtime.InteropServices.Architecture architecture, int directory, int noFollow) =>
        Assert.Equal((directory, noFollow), MailFilePermissions.FlagsFor(architecture));

    [Fact]
    public void AnArchitectureWithUnknownOpenFlagsIsRefusedNotGuessed() =>
        Assert.Throws<PlatformNotSupportedException>(() => MailFilePermissions.FlagsFor(System.Runtime.InteropServices.Architecture.Wasm));
}
