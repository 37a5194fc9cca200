using System.Runtime.InteropServices;
using SecureMx.Dovecot;

namespace SecureMx.Cli;

/// <summary>
/// The system user that owns an instance's data directory: every file of the instance (store,
/// spool, Maildirs) must belong to it, and Dovecot reads and writes the Maildirs as it. A command
/// an administrator runs as root on an instance owned by another user runs as that user
/// (<see cref="DropTo"/>), so nothing it creates — a Maildir, the store's journal — ends up root's.
/// </summary>
public static partial class InstanceOwner
{
    /// <summary>The owner of <paramref name="path"/> with the names /etc/passwd and /etc/group give its ids.</summary>
    /// <remarks>
    /// The group is the user's own (its passwd entry's), not the directory's: once delivery.mailGroup is
    /// set the data directory belongs to the mail group, and neither the commands root runs as the owner
    /// nor Dovecot must act as that group. The directory's group only for a uid without a passwd entry.
    /// </remarks>
    public static MailOwner Of(string path)
    {
        var (uid, gid) = Ids(path);
        var user = User(uid);
        gid = user?.Gid ?? gid;
        return new MailOwner(uid, gid, user?.Name ?? uid.ToString(), NameOf("/etc/group", gid) ?? gid.ToString());
    }

    /// <summary>
    /// Root running a command on an instance another user owns becomes that user (groups, gid, then
    /// uid). Its supplementary groups too (initgroups, as systemd's User= gives them): a Maildir that
    /// `mailbox add` creates goes to delivery.mailGroup, which the user is a member of.
    /// </summary>
    public static void DropTo(string dataDirectory)
    {
        if (Geteuid() != 0 || !Directory.Exists(dataDirectory)) return;
        var (uid, gid) = Ids(dataDirectory);
        if (uid == 0) return;
        var user = User(uid);
        gid = user?.Gid ?? gid; // the user's own group, never the mail group the directory may belong to (see Of)
        var groupsSet = user is not null ? Initgroups(user.Value.Name, gid) == 0 : Setgroups(1, [gid]) == 0;
        if (!groupsSet || Setgid(gid) != 0 || Setuid(uid) != 0)
            throw new CliException($"cannot switch to the owner of {dataDirectory} (uid {uid}): errno {Marshal.GetLastPInvokeError()}");
    }

    private static (int Uid, int Gid) Ids(string path)
    {
        // statx: the one stat structure whose layout is the same on every Linux architecture.
        var buffer = new byte[256];
        if (Statx(AtFdCwd, path, 0, StatxUid | StatxGid, buffer) != 0)
            throw new CliException($"cannot read the owner of {path}: errno {Marshal.GetLastPInvokeError()}");
        return (BitConverter.ToInt32(buffer, 20), BitConverter.ToInt32(buffer, 24));
    }

    /// <summary>getpwuid(3): the user's name and primary group (NSS, as initgroups and Dovecot see them), or null.</summary>
    private static (string Name, int Gid)? User(int uid)
    {
        var entry = Getpwuid(uid);
        if (entry == 0) return null;
        // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... }
        var name = Marshal.PtrToStringUTF8(Marshal.ReadIntPtr(entry, 0));
        return name is null ? null : (name, Marshal.ReadInt32(entry, 2 * IntPtr.Size + 4));
    }

    private static string? NameOf(string database, int id)
    {
        try
        {
            foreach (var line in File.ReadLines(database))
            {
                var f = line.Split(':');
                if (f.Length > 2 && int.TryParse(f[2], out var n) && n == id) return f[0];
            }
        }
        catch (IOException)
        {
        }
        return null;
    }

    private const int AtFdCwd = -100;
    private const uint StatxUid = 0x8, StatxGid = 0x10;

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, byte[] buffer);

    [LibraryImport("libc", EntryPoint = "getpwuid")]
    private static partial nint Getpwuid(int uid);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint Geteuid();

    [LibraryImport("libc", EntryPoint = "setgroups", SetLastError = true)]
    private static partial int Setgroups(nint size, int[] groups);

    [LibraryImport("libc", EntryPoint = "initgroups", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Initgroups(string user, int group);

    [LibraryImport("libc", EntryPoint = "setgid", SetLastError = true)]
    private static partial int Setgid(int gid);

    [LibraryImport("libc", EntryPoint = "setuid", SetLastError = true)]
    private static partial int Setuid(int uid);
}
