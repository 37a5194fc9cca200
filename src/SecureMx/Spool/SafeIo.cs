using System.Runtime.InteropServices;

namespace SecureMx.Spool;

/// <summary>
/// Durable file-system operations (the idea of chasquid's safeio): a file's data and the directory
/// entry that names it both reach the disk before anyone is told "stored".
/// </summary>
public static partial class SafeIo
{
    private const int O_RDONLY = 0;
    private const int O_DIRECTORY = 0x10000; // Linux

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8, EntryPoint = "open")]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", SetLastError = true, EntryPoint = "flock")]
    private static partial int Flock(int fd, int operation);

    private const int LOCK_EX = 2;
    private const int LOCK_NB = 4;

    /// <summary>
    /// Takes an exclusive flock(2) on <paramref name="path"/> (created if missing) for as long as the
    /// returned handle lives; null when another process holds it. The kernel releases it when the
    /// process dies, so a crash never leaves a stale lock.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle? TryLockExclusive(string path)
    {
        var handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        if (Flock((int)handle.DangerousGetHandle(), LOCK_EX | LOCK_NB) == 0) return handle;
        handle.Dispose();
        return null;
    }

    /// <summary>fsync(2) of a directory, so that created, renamed or removed entries are durable.</summary>
    public static void FsyncDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(path, O_RDONLY | (OperatingSystem.IsLinux() ? O_DIRECTORY : 0));
        if (fd < 0) throw new IOException($"open({path}) for fsync failed: errno {Marshal.GetLastPInvokeError()}");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync({path}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>Writes a whole file durably: temporary name, fsync, rename, fsync of the directory.</summary>
    public static void WriteFileAtomic(string path, ReadOnlySpan<byte> content, UnixFileMode? mode = null)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var tmp = Path.Combine(dir, "." + Path.GetFileName(path) + ".tmp" + Environment.ProcessId);
        using (var fs = new FileStream(tmp, new FileStreamOptions
        {
            Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None,
            UnixCreateMode = mode ?? (UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead),
        }))
        {
            fs.Write(content);
            fs.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        FsyncDirectory(dir);
    }
}
