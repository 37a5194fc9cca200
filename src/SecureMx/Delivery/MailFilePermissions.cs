using System.Runtime.InteropServices;
using SecureMx.Config;

namespace SecureMx.Delivery;

/// <summary>
/// Gives what a delivery creates the mode and group of delivery.mailFileMode and delivery.mailGroup
/// (<see cref="MailFileAccess"/>). chmod(2) after creation, not the mode given to open(2): the umask
/// (the service's is 0027) would take the group's write bit. Failures are <see cref="IOException"/>s,
/// so a delivery that cannot set them is deferred like any other failed write.
/// </summary>
public static partial class MailFilePermissions
{
    /// <summary>Mode and group of a message file just created.</summary>
    public static void ApplyToFile(string path, MailFileAccess access)
    {
        if (access == MailFileAccess.Default) return; // created 0600: the umask only takes bits away
        Apply(path, access.FileMode, access.GroupId);
    }

    /// <summary>
    /// Mode and group of a Maildir (and its tmp/, new/, cur/) and of every directory between it and the
    /// data directory (DIR/mail, DIR/mail/DOMAIN), so that the group can reach it; the data directory
    /// itself gets the group and its search bit only (g+x), and what else is in it loses the bits for
    /// others (<see cref="CloseToOthers"/>).
    /// </summary>
    public static void ApplyToMaildir(string dataDirectory, string maildir, MailFileAccess access)
    {
        if (access == MailFileAccess.Default) return;
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory));
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(maildir));
        foreach (var sub in new[] { "tmp", "new", "cur" }) Apply(Path.Combine(full, sub), access.DirectoryMode, access.GroupId);
        for (var d = full; d is not null && d.Length > root.Length && d.StartsWith(root + "/", StringComparison.Ordinal); d = Path.GetDirectoryName(d))
        {
            Apply(d, access.DirectoryMode, access.GroupId);
        }
        if ((access.DirectoryMode & UnixFileMode.GroupExecute) == 0) return;
        if (access.GroupId is { } gid) Chown(root, gid);
        var mode = File.GetUnixFileMode(root);
        if ((mode & UnixFileMode.GroupExecute) == 0) File.SetUnixFileMode(root, mode | UnixFileMode.GroupExecute);
        CloseToOthers(root);
    }

    /// <summary>
    /// The group passes through the data directory as "others" of everything in it: what init and the
    /// CLI left readable by others (the store, securemx.json, spool/, tls/ under a 022 umask), once
    /// hidden behind a 0700 data directory, loses those bits. DIR/mail is the group's; links are left alone.
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

    private static void Apply(string path, UnixFileMode mode, int? gid)
    {
        if (gid is { } g) Chown(path, g);
        File.SetUnixFileMode(path, mode);
    }

    // lchown: a link in the way is changed itself, never what it points to.
    private static void Chown(string path, int gid)
    {
        if (Lchown(path, -1, gid) != 0)
            throw new IOException($"cannot give {path} to group {gid} (delivery.mailGroup): errno {Marshal.GetLastPInvokeError()}");
    }

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Lchown(string path, int owner, int group);
}
