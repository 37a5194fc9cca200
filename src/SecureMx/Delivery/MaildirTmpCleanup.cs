using System.Runtime.InteropServices;

namespace SecureMx.Delivery;

/// <summary>
/// Removes the leftovers of interrupted deliveries from a Maildir's <c>tmp/</c>: a delivery killed
/// before its rename into <c>new/</c> leaves its file there, and nothing else ever removes it (the
/// message itself is still queued and delivered again). The Maildir convention (D. J. Bernstein's
/// maildir spec, and Dovecot's own cleanup): a file in <c>tmp/</c> untouched for 36 hours is garbage.
/// Only regular files directly in <c>tmp/</c> whose access, modification and change times are all
/// older than the cutoff: never a symbolic link (nor what it points to), a directory or anything in
/// one, a device or a pipe, nor a <c>tmp/</c> that is itself a link.
/// </summary>
public static partial class MaildirTmpCleanup
{
    /// <summary>How old a file in tmp/ must be to be garbage: the Maildir convention's 36 hours.</summary>
    public static readonly TimeSpan MaximumAge = TimeSpan.FromHours(36);

    /// <summary>What one Maildir's cleanup did.</summary>
    /// <param name="Removed">Files removed.</param>
    /// <param name="Failed">Stale files that could not be removed (permissions, I/O errors).</param>
    public readonly record struct Result(int Removed, int Failed);

    /// <summary>
    /// Removes the regular files in <paramref name="maildir"/>/tmp last accessed, modified and changed
    /// before <paramref name="cutoff"/>. A Maildir without a real tmp/ directory is left alone.
    /// </summary>
    public static Result Clean(string maildir, DateTimeOffset cutoff)
    {
        // tmp/ opened once without following a link, and every look and removal under its descriptor:
        // a group member who swaps tmp/ for a link to another directory after this open changes nothing
        // (what is checked and removed is in the directory opened here, never in what the link points to).
        var tmpFd = MailFilePermissions.OpenTmpNoFollow(maildir);
        if (tmpFd < 0) return default;
        try
        {
            int removed = 0, failed = 0;
            if (Names(tmpFd, maildir) is not { } names) return new Result(0, 1);
            foreach (var name in names)
            {
                // fstatat(AT_SYMLINK_NOFOLLOW): a link is judged as a link, never by what it points to.
                if (Stat(tmpFd, name) is not { Type: FileType.Regular } s || s.LastTouched >= cutoff) continue;
                if (Unlinkat(tmpFd, name, 0) == 0) removed++; // removes the name in tmp/, follows nothing
                else if (Marshal.GetLastPInvokeError() != ENoEnt) failed++; // gone meanwhile: nothing to do
            }
            return new Result(removed, failed);
        }
        finally
        {
            MailFilePermissions.CloseDescriptor(tmpFd);
        }
    }

    /// <summary>
    /// The names in the tmp/ held open: through /proc/self/fd (the descriptor's own directory, not a path
    /// looked up again), or by path where /proc is missing (still safe: every look and removal is at the
    /// descriptor). Null when they cannot be listed.
    /// </summary>
    private static List<string>? Names(int tmpFd, string maildir)
    {
        foreach (var directory in new[] { $"/proc/self/fd/{tmpFd}", Path.Combine(maildir, "tmp") })
        {
            try
            {
                return Directory.EnumerateFileSystemEntries(directory).Select(e => Path.GetFileName(e)).ToList();
            }
            catch (DirectoryNotFoundException) when (directory.StartsWith("/proc/", StringComparison.Ordinal))
            {
                // no /proc: by path
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>Whether <paramref name="path"/> is a directory itself, not a link to one.</summary>
    public static bool IsRealDirectory(string path) => Stat(path) is { Type: FileType.Directory };

    private enum FileType { Other, Regular, Directory }

    /// <param name="LastTouched">The latest of the access, modification and change times.</param>
    private readonly record struct Status(FileType Type, DateTimeOffset LastTouched);

    private static Status? Stat(string path) => Stat(AtFdCwd, path);

    private static Status? Stat(int dirFd, string path)
    {
        // statx: the one stat structure whose layout is the same on every Linux architecture.
        var buffer = new byte[256];
        if (Statx(dirFd, path, AtSymlinkNoFollow, StatxType | StatxAtime | StatxMtime | StatxCtime, buffer) != 0) return null;
        var type = (BitConverter.ToUInt16(buffer, 28) & SIfMt) switch
        {
            SIfReg => FileType.Regular,
            SIfDir => FileType.Directory,
            _ => FileType.Other,
        };
        long latest = Math.Max(BitConverter.ToInt64(buffer, 64), Math.Max(BitConverter.ToInt64(buffer, 96), BitConverter.ToInt64(buffer, 112))); // atime, ctime, mtime (seconds)
        return new Status(type, DateTimeOffset.FromUnixTimeSeconds(latest));
    }

    private const int AtFdCwd = -100;
    private const int ENoEnt = 2;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1, StatxAtime = 0x20, StatxMtime = 0x40, StatxCtime = 0x80;
    private const int SIfMt = 0xF000, SIfReg = 0x8000, SIfDir = 0x4000;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "unlinkat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlinkat(int dirfd, string path, int flags);
}
