using System.Diagnostics;
using SecureMx.Cli;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// The owner of an instance's directory as statx reports it, with its passwd entry's name and primary
/// group (what the Dovecot configuration names and DropTo becomes), the directory's group only for a uid
/// without one. DropTo is not tried here: it would change the
/// test process's own user (the CLI integration tests run it as root).
/// </summary>
public sealed class InstanceOwnerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Stat(string format, string path)
    {
        using var p = Process.Start(new ProcessStartInfo("stat", ["-c", format, path]) { RedirectStandardOutput = true })!;
        var output = p.StandardOutput.ReadToEnd().Trim();
        p.WaitForExit();
        return output;
    }

    [Fact]
    public void TheOwnerIsWhatStatSaysWithItsUserAndGroupNames()
    {
        var owner = InstanceOwner.Of(_dir.Path);
        Assert.Equal(Stat("%u %g %U %G", _dir.Path), $"{owner.Uid} {owner.Gid} {owner.UserName} {owner.GroupName}");
    }

    [Fact]
    public void IdsWithoutANameAreNamedByTheirNumbers()
    {
        Assert.SkipUnless(Stat("%u", _dir.Path) == "0", "only root can give a file to an unknown user");
        // Far above any id a system hands out, and in neither /etc/passwd nor /etc/group.
        const int unknown = 1_999_999_901;
        foreach (var database in new[] { "/etc/passwd", "/etc/group" })
            Assert.DoesNotContain(File.ReadLines(database), l => l.Split(':') is [_, _, var id, ..] && id == unknown.ToString());
        using (var chown = Process.Start("chown", [$"{unknown}:{unknown}", _dir.Path])) chown.WaitForExit();

        var owner = InstanceOwner.Of(_dir.Path);
        Assert.Equal(new SecureMx.Dovecot.MailOwner(unknown, unknown, unknown.ToString(), unknown.ToString()), owner);
    }

    [Fact]
    public void TheGroupIsTheUsersOwnNotTheDirectorysWhichMayBeTheMailGroup()
    {
        Assert.SkipUnless(Stat("%u", _dir.Path) == "0", "only root can give a file to another user");
        // daemon (uid 1, primary group 1) owns it; the directory is in group bin (2), as a data directory is in delivery.mailGroup.
        Assert.Contains(File.ReadLines("/etc/passwd"), l => l.StartsWith("daemon:x:1:1:", StringComparison.Ordinal));
        using (var chown = Process.Start("chown", ["1:2", _dir.Path])) chown.WaitForExit();

        Assert.Equal(new SecureMx.Dovecot.MailOwner(1, 1, "daemon", "daemon"), InstanceOwner.Of(_dir.Path));
    }

    [Fact]
    public void AMissingDirectoryIsAnOperatorErrorNamingIt()
    {
        var missing = _dir.Combine("no-such-instance");
        var ex = Assert.Throws<CliException>(() => InstanceOwner.Of(missing));
        Assert.StartsWith($"cannot read the owner of {missing}: errno 2", ex.Message);
    }
}
