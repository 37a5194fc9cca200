using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using SecureMx.Config;

namespace SecureMx.Delivery;

/// <summary>
/// Gives what a delivery creates the mode and group of delivery.mailFileMode and delivery.mailGroup
/// (<see cref="MailFileAccess"/>). fchmod(2) after creation, not the mode given to open(2): the umask
/// (the service's is 0027) would take the group's write bit. Never by path: a member of a group that may
/// write a Maildir can replace what is in it with a symbolic link, and chmod(2)/chown(2) follow links. So
/// every directory from DIR/mail down is opened with O_NOFOLLOW, one name at a time under the descriptor
/// of its parent, and changed through its own descriptor; a link anywhere there is refused. Failures are
/// <see cref="IOException"/>s naming the path, so a delivery that cannot set them is deferred like any
/// other failed write.
/// </summary>
public static partial class MailFilePermissions
{
    private const UnixFileMode OwnerAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode GroupAll = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute;

    /// <summary>Mode and group of a message file just created, through its open handle.</summary>
    public static void ApplyToFile(SafeFileHandle file, string path, MailFileAccess access)
    {
        if (access == MailFileAccess.Default) return; // created 0600: the umask only takes bits away
        var fd = (int)file.DangerousGetHandle();
        if (access.GroupId is { } gid && Fchown(fd, -1, gid) != 0) throw GroupError(path, gid);
        if (Fchmod(fd, (uint)access.FileMode) != 0) throw Error("cannot set the mode of", path);
    }

    /// <summary>
    /// Creates what is missing of a Maildir (and its tmp/, new/, cur/) and of every directory between it
    /// and the data directory (DIR/mail, DIR/mail/DOMAIN), and gives them their mode and group: the
    /// Maildir and its subdirectories the mode of directories, those above it only the group's search bit
    /// (0710: the group reaches its Maildirs, lists and changes nothing above them). The data directory
    /// itself gets the group and exactly --x for it, and what else is in it loses the bits for others
    /// (<see cref="CloseToOthers"/>). A symbolic link (or anything not a directory) on the way is refused.
    /// </summary>
    public static void ApplyToMaildir(string dataDirectory, string maildir, MailFileAccess access)
    {
        if (access == MailFileAccess.Default) return;
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(maildir));
        if (!full.StartsWith(root + "/", StringComparison.Ordinal)) throw new IOException($"{full} is not inside the data directory {root}");
        var names = full[(root.Length + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries);
        var groupReaches = (access.DirectoryMode & UnixFileMode.GroupExecute) != 0;
        var above = OwnerAll | (groupReaches ? UnixFileMode.GroupExecute : 0);

        // The data directory is the operator's path (it may be reached through a link); below it, nothing is.
        using var rootFd = OpenDirectoryAt(AtFdCwd, root, root, create: false);
        var parent = rootFd;
        var path = root;
        try
        {
            for (var i = 0; i < names.Length; i++)
            {
                path += "/" + names[i];
                var mode = i == names.Length - 1 ? access.DirectoryMode : above;
                var next = OpenDirectoryAt(parent.Fd, names[i], path, create: true, mode);
                if (parent != rootFd) parent.Dispose();
                parent = next;
                Apply(parent.Fd, path, mode, access.GroupId);
            }
            foreach (var sub in new[] { "tmp", "new", "cur" })
            {
                using var d = OpenDirectoryAt(parent.Fd, sub, path + "/" + sub, create: true, access.DirectoryMode);
                Apply(d.Fd, path + "/" + sub, access.DirectoryMode, access.GroupId);
            }
        }
        finally
        {
            if (parent != rootFd) parent.Dispose();
        }
        if (!groupReaches) return;
        if (access.GroupId is { } gid && Fchown(rootFd.Fd, -1, gid) != 0) throw GroupError(root, gid);
        var current = (UnixFileMode)(Mode(rootFd.Fd, root) & 0xFFF);
        var wanted = current & ~GroupAll | UnixFileMode.GroupExecute;
        if (wanted != current && Fchmod(rootFd.Fd, (uint)wanted) != 0) throw Error("cannot set the mode of", root);
        CloseToOthers(root);
    }

    /// <summary>
    /// The group passes through the data directory as "others" of everything in it: what init and the
    /// CLI left readable by others (the store, securemx.json, spool/, tls/ under a 022 umask), once
    /// hidden behind a 0700 data directory, loses those bits. DIR/mail is the group's; links are left
    /// alone (only the owner can put anything into the data directory, which the group cannot write).
    /// </summary>
    private static void CloseToOthers(string root)
    {
        const UnixFileMode others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        foreach (var entry in Directory.EnumerateFileSystemEntries(root))
        {
            if (Path.GetFileName(entry) == "mail") continue;
            try
            {
                var info = new FileInfo(entry);
                if (info.LinkTarget is not null) continue;
                var mode = info.UnixFileMode;
                if ((mode & others) != 0) File.SetUnixFileMode(entry, mode & ~others);
            }
            catch (FileNotFoundException)
            {
                // a temporary file that went away meanwhile
            }
        }
    }

    /// <summary>
    /// The tmp/ and new/ of an existing Maildir, opened for one delivery the way <see cref="ApplyToMaildir"/>
    /// walks (every name below the data directory with O_NOFOLLOW, under its parent's descriptor): a group
    /// member may swap tmp/ or new/ for a link at any time after the first delivery, so the delivery creates,
    /// renames and fsyncs through these descriptors, never by path. A link or a missing directory is an
    /// <see cref="IOException"/> naming the path.
    /// </summary>
    public static MaildirDirectories OpenMaildir(string dataDirectory, string maildir)
    {
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(maildir));
        if (!full.StartsWith(root + "/", StringComparison.Ordinal)) throw new IOException($"{full} is not inside the data directory {root}");
        var parent = OpenDirectoryAt(AtFdCwd, root, root, create: false);
        var path = root;
        try
        {
            foreach (var name in full[(root.Length + 1)..].Split('/', StringSplitOptions.RemoveEmptyEntries))
            {
                path += "/" + name;
                var next = OpenDirectoryAt(parent.Fd, name, path, create: false);
                parent.Dispose();
                parent = next;
            }
            var tmp = OpenDirectoryAt(parent.Fd, "tmp", path + "/tmp", create: false);
            try
            {
                var @new = OpenDirectoryAt(parent.Fd, "new", path + "/new", create: false);
                return new MaildirDirectories(tmp, @new, path);
            }
            catch
            {
                tmp.Dispose();
                throw;
            }
        }
        finally
        {
            parent.Dispose();
        }
    }

    /// <summary>A Maildir's tmp/ and new/ held open for one delivery (<see cref="OpenMaildir"/>).</summary>
    public sealed class MaildirDirectories : IDisposable
    {
        private readonly DirectoryDescriptor _tmp, _new;

        internal MaildirDirectories(DirectoryDescriptor tmp, DirectoryDescriptor @new, string maildir)
        {
            _tmp = tmp;
            _new = @new;
            TmpPath = maildir + "/tmp";
            NewPath = maildir + "/new";
        }

        public string TmpPath { get; }

        public string NewPath { get; }

        /// <summary>Creates tmp/<paramref name="name"/> (O_CREAT|O_EXCL|O_NOFOLLOW, 0600): never an existing name, never through a link.</summary>
        public FileStream CreateInTmp(string name)
        {
            var fd = Openat(_tmp.Fd, name, OWriteOnly | OCreate | OExclusive | ONoFollow | OCloseOnExec, 0x180);
            if (fd < 0) throw Error("cannot create", TmpPath + "/" + name);
            var handle = new SafeFileHandle(fd, ownsHandle: true);
            try
            {
                return new FileStream(handle, FileAccess.Write, bufferSize: 0);
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        /// <summary>renameat(2) from tmp/ to new/, both by descriptor.</summary>
        public void MoveToNew(string name, string finalName)
        {
            if (Renameat(_tmp.Fd, name, _new.Fd, finalName) != 0) throw Error("cannot rename into", NewPath + "/" + finalName);
        }

        /// <summary>fsync(2) of new/ through its descriptor: the renamed entry is durable.</summary>
        public void SyncNew()
        {
            if (Fsync(_new.Fd) != 0) throw Error("cannot fsync", NewPath);
        }

        /// <summary>unlinkat(2) in tmp/ on an error path; a name already gone is no error.</summary>
        public bool TryRemoveFromTmp(string name) => Unlinkat(_tmp.Fd, name, 0) == 0;

        /// <summary>unlinkat(2) in new/ on an error path (the fsync of new/ failed).</summary>
        public bool TryRemoveFromNew(string name) => Unlinkat(_new.Fd, name, 0) == 0;

        public void Dispose()
        {
            _tmp.Dispose();
            _new.Dispose();
        }
    }

    /// <summary>
    /// tmp/ of <paramref name="maildir"/> opened with O_DIRECTORY|O_NOFOLLOW for the cleanup (the Maildir
    /// itself sits under directories the group cannot write); null when it is missing, a link or no directory.
    /// The descriptor is closed by the caller (<see cref="CloseDescriptor"/>).
    /// </summary>
    internal static int OpenTmpNoFollow(string maildir) =>
        Openat(AtFdCwd, Path.Combine(maildir, "tmp"), ODirectory | ONoFollow | OCloseOnExec, 0);

    internal static void CloseDescriptor(int fd) => _ = Close(fd);

    private static void Apply(int fd, string path, UnixFileMode mode, int? gid)
    {
        if (gid is { } g && Fchown(fd, -1, g) != 0) throw GroupError(path, g);
        if (Fchmod(fd, (uint)mode) != 0) throw Error("cannot set the mode of", path);
    }

    /// <summary>
    /// The directory <paramref name="name"/> under <paramref name="parentFd"/>, opened without following a
    /// link (O_NOFOLLOW: a link is ELOOP; O_DIRECTORY: anything else not a directory is ENOTDIR), made
    /// first (mkdirat, <paramref name="mode"/>) where missing and <paramref name="create"/>.
    /// </summary>
    private static DirectoryDescriptor OpenDirectoryAt(int parentFd, string name, string path, bool create, UnixFileMode mode = 0)
    {
        var follow = parentFd == AtFdCwd;
        for (var attempt = 0; ; attempt++)
        {
            var fd = Openat(parentFd, name, ODirectory | (follow ? 0 : ONoFollow) | OCloseOnExec, 0);
            if (fd >= 0) return new DirectoryDescriptor(fd);
            var errno = Marshal.GetLastPInvokeError();
            if (errno is ELoop or ENotDir)
                throw new IOException($"refusing {path}: a symbolic link or not a directory where a Maildir directory belongs (delivery.mailGroup: nothing under DIR/mail may be a link)");
            if (errno != ENoEnt || !create || attempt > 0) throw new IOException($"cannot open the directory {path}: errno {errno}");
            if (Mkdirat(parentFd, name, (uint)mode) != 0 && Marshal.GetLastPInvokeError() is var e && e != EExist)
                throw new IOException($"cannot create the directory {path}: errno {e}");
        }
    }

    private static uint Mode(int fd, string path)
    {
        // statx with AT_EMPTY_PATH on the descriptor itself: stx_mode is a u16 at offset 28 on every architecture.
        var buffer = new byte[256];
        if (Statx(fd, "", AtEmptyPath, StatxMode, buffer) != 0) throw Error("cannot read the mode of", path);
        return BitConverter.ToUInt16(buffer, 28);
    }

    private static IOException Error(string what, string path) => new($"{what} {path}: errno {Marshal.GetLastPInvokeError()}");

    private static IOException GroupError(string path, int gid) =>
        new($"cannot give {path} to group {gid} (delivery.mailGroup): errno {Marshal.GetLastPInvokeError()}");

    internal sealed class DirectoryDescriptor(int fd) : IDisposable
    {
        public int Fd { get; } = fd;

        public void Dispose() => _ = Close(Fd); // a read-only directory descriptor: nothing is lost when close fails
    }

    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxMode = 0x2;
    private const int ENoEnt = 2, EExist = 17, ENotDir = 20, ELoop = 40;
    private const int OCloseOnExec = 0x80000;

    private const int OWriteOnly = 0x1, OCreate = 0x40, OExclusive = 0x80;

    // O_DIRECTORY and O_NOFOLLOW differ between architectures: arm, arm64 and powerpc have their own
    // (arch/*/include/uapi/asm/fcntl.h); x86, s390, riscv and loongarch use asm-generic/fcntl.h. An
    // architecture not listed is refused rather than guessed: a wrong O_NOFOLLOW would follow links.
    private static int ODirectory => FlagsFor(RuntimeInformation.ProcessArchitecture).Directory;
    private static int ONoFollow => FlagsFor(RuntimeInformation.ProcessArchitecture).NoFollow;

    internal static (int Directory, int NoFollow) FlagsFor(Architecture architecture) => architecture switch
    {
        Architecture.Arm or Architecture.Armv6 or Architecture.Arm64 or Architecture.Ppc64le => (0x4000, 0x8000),
        Architecture.X64 or Architecture.X86 or Architecture.S390x or Architecture.RiscV64 or Architecture.LoongArch64 => (0x10000, 0x20000),
        _ => throw new PlatformNotSupportedException($"the O_DIRECTORY and O_NOFOLLOW values of {architecture} are not known: mail files are not written there without them"),
    };

    [LibraryImport("libc", EntryPoint = "openat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Openat(int dirfd, string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "mkdirat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Mkdirat(int dirfd, string path, uint mode);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int Fchmod(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int Fchown(int fd, int owner, int group);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "renameat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Renameat(int olddirfd, string oldpath, int newdirfd, string newpath);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlinkat(int dirfd, string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
