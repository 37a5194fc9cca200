using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace SecureMx.Delivery;

/// <summary>
/// A Maildir file written without a name and linked into new/ once complete: open(2) of new/ with
/// O_TMPFILE, write, fsync, then linkat(2) of /proc/self/fd/N (AT_SYMLINK_FOLLOW: no privilege needed, unlike
/// AT_EMPTY_PATH) under its final name. Against tmp/ + rename(2) this saves the directory entry in tmp/
/// (created and removed again, two journalled changes of tmp/ per message) and, on a failure, any
/// cleanup: a file never linked disappears with its descriptor, also when the process dies.
/// File systems without O_TMPFILE (EOPNOTSUPP; EISDIR on kernels before 3.11) answer null, and the
/// caller goes by tmp/ + rename as the Maildir spec describes.
/// </summary>
internal static partial class MaildirUnnamedFile
{
    private const int OWriteOnly = 0x1, OCloseOnExec = 0x80000;
    private const int OTmpFileWithoutDirectory = 0x400000; // __O_TMPFILE (asm-generic; O_TMPFILE = it | O_DIRECTORY)
    private const int AtFdCwd = -100, AtSymlinkFollow = 0x400;
    private const int ENoEnt = 2, EIsDir = 21, EInvalid = 22, ENotSupported = 95;

    /// <summary>Whether the kernel can offer unnamed files at all (/proc is where linkat finds them).</summary>
    public static bool Available { get; } = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd");

    /// <summary>
    /// An unnamed file (mode 0600) on <paramref name="directory"/>'s file system, open for writing; null when
    /// that file system has no O_TMPFILE. Any other refusal (ENOSPC, EACCES, ENOENT) throws the
    /// <see cref="IOException"/> .NET would throw for the errno (HResult = errno).
    /// </summary>
    public static SafeFileHandle? TryCreate(string directory)
    {
        var flags = OTmpFileWithoutDirectory | MailFilePermissions.FlagsFor(RuntimeInformation.ProcessArchitecture).Directory | OWriteOnly | OCloseOnExec;
        var fd = Open(directory, flags, (uint)(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        if (fd >= 0) return new SafeFileHandle(fd, ownsHandle: true);
        var errno = Marshal.GetLastPInvokeError();
        if (errno is ENotSupported or EIsDir or EInvalid) return null;
        // As File.Open says it: a Maildir removed behind the server's back is made again on the next attempt.
        if (errno == ENoEnt) throw new DirectoryNotFoundException($"{Marshal.GetPInvokeErrorMessage(errno)} : '{directory}'") { HResult = errno };
        throw ErrnoException(errno, directory);
    }

    /// <summary>Gives the unnamed <paramref name="file"/> the name <paramref name="destination"/> (EEXIST if taken: never replaced).</summary>
    public static void Link(SafeFileHandle file, string destination)
    {
        var source = "/proc/self/fd/" + file.DangerousGetHandle().ToInt32().ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (Linkat(AtFdCwd, source, AtFdCwd, destination, AtSymlinkFollow) != 0) throw ErrnoException(Marshal.GetLastPInvokeError(), destination);
    }

    private static IOException ErrnoException(int errno, string path) => new($"{Marshal.GetPInvokeErrorMessage(errno)} : '{path}'", errno);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "linkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Linkat(int olddirfd, string oldpath, int newdirfd, string newpath, int flags);
}
