using System.Runtime.InteropServices;

namespace SecureMx.Config;

/// <summary>
/// Who may read the Maildirs SecureMx writes besides the instance's owner: the mode of message files
/// (delivery.mailFileMode), the mode of the Maildir directories that follows from it (x wherever r),
/// and the group both are given (delivery.mailGroup). No owner: chown to another user needs
/// CAP_CHOWN, which the service does not hold (packaging/securemx.service); a group the owner belongs to
/// needs nothing (chown(2) lets a file's owner pick any of its own groups).
/// </summary>
public sealed record MailFileAccess(UnixFileMode FileMode, UnixFileMode DirectoryMode, int? GroupId, string GroupName)
{
    public const string DefaultFileMode = "0600";

    /// <summary>Today's behaviour: 0600 files, 0700 directories, the process's own group.</summary>
    public static MailFileAccess Default { get; } = new(OwnerReadWrite, DirectoryModeFor(OwnerReadWrite), null, "");

    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode GroupReads = OwnerReadWrite | UnixFileMode.GroupRead;
    private const UnixFileMode GroupReadsAndWrites = GroupReads | UnixFileMode.GroupWrite;
    private const UnixFileMode Others = UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
    private const UnixFileMode Permissions = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | Others;

    /// <summary>The access the options name; throws <see cref="ConfigException"/> where they are not valid (see <see cref="Problems"/>).</summary>
    public static MailFileAccess From(DeliveryOptions delivery)
    {
        var problems = Problems(delivery, ProcessGroups.Current);
        if (problems.Count > 0) throw new ConfigException(string.Join("; ", problems));
        var mode = ParseMode(delivery.MailFileMode)!.Value;
        var gid = delivery.MailGroup.Length == 0 ? (int?)null : ProcessGroups.Current.Lookup(delivery.MailGroup);
        return new MailFileAccess(mode, DirectoryModeFor(mode), gid, delivery.MailGroup);
    }

    /// <summary>
    /// What is wrong with delivery.mailFileMode and delivery.mailGroup for a process that makes mail files
    /// (serve, `mailbox add`): the <see cref="ConfigurationProblems"/>, and a group that this process may
    /// not give its files to (it is neither root nor a member).
    /// </summary>
    public static List<string> Problems(DeliveryOptions delivery, ProcessGroups process)
    {
        var errors = ConfigurationProblems(delivery, process);
        if (delivery.MailGroup is { Length: > 0 } group && process.Lookup(group) is { } gid && !process.MayUse(gid))
            errors.Add($"delivery.mailGroup: this process (uid {process.Uid}) is not a member of group '{group}', so it cannot give mail files to it; add the service user to it (usermod -aG {group} USER) and start again");
        return errors;
    }

    /// <summary>
    /// What is wrong with delivery.mailFileMode and delivery.mailGroup whoever reads the configuration
    /// (<see cref="ConfigLoader.Validate"/>, for every command and at reload): a mode that is not octal,
    /// carries setuid/setgid/sticky bits, lets others in, or is not one of 0600, 0640 and 0660 (no execute
    /// bits, no group write without read); a group that does not exist. Not who is a member of the group:
    /// an administrator outside it may still run `queue list` or `backup`.
    /// </summary>
    public static List<string> ConfigurationProblems(DeliveryOptions delivery, ProcessGroups process)
    {
        var errors = new List<string>();
        var text = delivery.MailFileMode;
        if (ParseMode(text) is not { } mode)
        {
            errors.Add($"delivery.mailFileMode: '{text}' is not an octal file mode such as 0600 or 0640");
        }
        else
        {
            if ((mode & (UnixFileMode.SetUser | UnixFileMode.SetGroup | UnixFileMode.StickyBit)) != 0) errors.Add($"delivery.mailFileMode: {text} sets setuid, setgid or sticky bits; only permission bits (0600, 0640 or 0660)");
            else if ((mode & Others) != 0) errors.Add($"delivery.mailFileMode: {text} lets every local user in (its last digit is not 0); give readers a group (delivery.mailGroup) instead");
            else if ((mode & OwnerReadWrite) != OwnerReadWrite) errors.Add($"delivery.mailFileMode: {text} must give the owner read and write (0600 at least)");
            else if (mode is not (OwnerReadWrite or GroupReads or GroupReadsAndWrites)) errors.Add($"delivery.mailFileMode: {text} is none of 0600 (the owner only), 0640 (the group reads) and 0660 (the group reads and writes)");
        }
        var group = delivery.MailGroup;
        if (group.Length > 0)
        {
            if (process.Lookup(group) is null) errors.Add($"delivery.mailGroup: no group '{group}' on this system (create it with groupadd, and add the service user to it)");
        }
        return errors;
    }

    /// <summary>An octal mode of three or four digits ("640", "0640"), or null.</summary>
    public static UnixFileMode? ParseMode(string text)
    {
        var t = text.Trim();
        if (t.Length is < 3 or > 4 || t.Any(c => c is < '0' or > '7')) return null;
        return (UnixFileMode)Convert.ToInt32(t, 8);
    }

    /// <summary>A directory's mode from its files' mode: search (x) wherever read (r); owner always rwx.</summary>
    public static UnixFileMode DirectoryModeFor(UnixFileMode fileMode)
    {
        var m = fileMode & Permissions | UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        if ((m & UnixFileMode.GroupRead) != 0) m |= UnixFileMode.GroupExecute;
        if ((m & UnixFileMode.OtherRead) != 0) m |= UnixFileMode.OtherExecute;
        return m;
    }
}

/// <summary>The process's identity as far as chown(2) to a group is concerned, and the group database (NSS, via getgrnam).</summary>
public partial class ProcessGroups
{
    public static ProcessGroups Current { get; } = new();

    public virtual uint Uid => Geteuid();

    /// <summary>The group's id, or null when there is no such group.</summary>
    public virtual int? Lookup(string name)
    {
        var entry = Getgrnam(name);
        // struct group { char *gr_name; char *gr_passwd; gid_t gr_gid; char **gr_mem; }
        return entry == 0 ? null : Marshal.ReadInt32(entry, 2 * IntPtr.Size);
    }

    /// <summary>Whether a file this process owns may be given to <paramref name="gid"/>: root, or the effective or a supplementary group.</summary>
    public virtual bool MayUse(int gid)
    {
        if (Geteuid() == 0 || Getegid() == gid) return true;
        var n = Getgroups(0, null);
        if (n <= 0) return false;
        var groups = new int[n];
        n = Getgroups(n, groups);
        return groups.AsSpan(0, Math.Max(n, 0)).Contains(gid);
    }

    [LibraryImport("libc", EntryPoint = "getgrnam", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint Getgrnam(string name);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint Geteuid();

    [LibraryImport("libc", EntryPoint = "getegid")]
    private static partial int Getegid();

    [LibraryImport("libc", EntryPoint = "getgroups", SetLastError = true)]
    private static partial int Getgroups(int size, int[]? list);
}
