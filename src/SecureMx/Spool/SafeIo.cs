using System.Runtime.InteropServices;

namespace SecureMx.Spool;

/// <summary>
/// The system calls .NET does not offer: fsync(2) of a directory and flock(2). Durable writes use them
/// through <see cref="DurableFiles"/>.
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
    private const int EWOULDBLOCK = 11;

    /// <summary>
    /// Takes an exclusive flock(2) on <paramref name="path"/> (created if missing) for as long as the
    /// returned handle lives; null when another process holds it. The kernel releases it when the
    /// process dies, so a crash never leaves a stale lock.
    /// </summary>
    public static Microsoft.Win32.SafeHandles.SafeFileHandle? TryLockExclusive(string path)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        try
        {
            handle = File.OpenHandle(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite);
        }
        catch (IOException ex) when (ex.HResult == EWOULDBLOCK)
        {
            // A process without System.IO.DisableFileLocking (a test host) takes .NET's own advisory lock
            // on open, and meets the holder's flock there: held, as below.
            return null;
        }
        if (Flock((int)handle.DangerousGetHandle(), LOCK_EX | LOCK_NB) == 0) return handle;
        handle.Dispose();
        return null;
    }

    /// <summary>
    /// fsync(2) of a directory. A failure throws the <see cref="IOException"/> .NET would throw for the
    /// errno (HResult = errno, message = strerror), so that ENOSPC reads the same from here as from a write.
    /// </summary>
    internal static void FsyncDirectory(string path)
    {
        int fd = Open(path, O_RDONLY | O_DIRECTORY);
        if (fd < 0) throw ErrnoException(path);
        try
        {
            if (Fsync(fd) != 0) throw ErrnoException(path);
        }
        finally
        {
            Close(fd);
        }
    }

    private static IOException ErrnoException(string path)
    {
        int errno = Marshal.GetLastPInvokeError();
        return new IOException($"{Marshal.GetPInvokeErrorMessage(errno)} : '{path}'", errno);
    }
}
