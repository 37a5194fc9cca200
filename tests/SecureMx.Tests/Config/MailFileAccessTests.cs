using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>
/// delivery.mailFileMode and delivery.mailGroup: checked at start (a bad value stops serve, never a
/// delivery), the directory mode follows the file mode (x wherever r), and the defaults are today's
/// 0600 files, 0700 directories, the process's group.
/// </summary>
public sealed class MailFileAccessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public MailFileAccessTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>A process that is not root and in no group but its own (gid 4242); the database knows "readers" (gid 5000).</summary>
    private sealed class UnprivilegedProcess(params int[] groups) : ProcessGroups
    {
        public override uint Uid => 1234;
        public override int? Lookup(string name) => name == "readers" ? 5000 : null;
        public override bool MayUse(int gid) => gid == 4242 || groups.Contains(gid);
    }

    private static List<string> Problems(string mode, string group = "", ProcessGroups? process = null) =>
        MailFileAccess.Problems(new DeliveryOptions { MailFileMode = mode, MailGroup = group }, process ?? new UnprivilegedProcess());

    [Fact]
    public void TheDefaultsAreOwnerOnlyFilesAndDirectoriesInTheProcesssGroup()
    {
        var delivery = new SecureMxOptions().Delivery;
        Assert.Equal("0600", delivery.MailFileMode);
        Assert.Equal("", delivery.MailGroup);
        var access = MailFileAccess.From(delivery);
        Assert.Equal(MailFileAccess.Default, access);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, access.FileMode);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, access.DirectoryMode);
        Assert.Null(access.GroupId);
    }

    [Theory]
    [InlineData("0600", "0600", "0700")]
    [InlineData("600", "0600", "0700")]
    [InlineData("0640", "0640", "0750")]
    [InlineData(" 0660 ", "0660", "0770")]
    public void AValidModeGivesDirectoriesSearchWhereverFilesAreReadable(string text, string file, string directory)
    {
        Assert.Empty(Problems(text));
        var access = MailFileAccess.From(new DeliveryOptions { MailFileMode = text });
        Assert.Equal(Convert.ToInt32(file, 8), (int)access.FileMode);
        Assert.Equal(Convert.ToInt32(directory, 8), (int)access.DirectoryMode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("rw-r-----")]
    [InlineData("0x1a0")]
    [InlineData("0680")]
    [InlineData("06400")]
    [InlineData("60")]
    [InlineData("-600")]
    public void TextThatIsNoOctalModeIsRefused(string text)
    {
        Assert.Equal([$"delivery.mailFileMode: '{text}' is not an octal file mode such as 0600 or 0640"], Problems(text));
    }

    [Theory]
    [InlineData("4600")]
    [InlineData("2660")]
    [InlineData("1640")]
    public void SetuidSetgidAndStickyBitsAreRefused(string text)
    {
        Assert.Equal([$"delivery.mailFileMode: {text} sets setuid, setgid or sticky bits; only permission bits (0600, 0640 or 0660)"], Problems(text));
    }

    [Theory]
    [InlineData("0666")]
    [InlineData("0602")]
    [InlineData("0644")]
    [InlineData("0601")]
    public void AModeThatLetsOthersInIsRefused(string text)
    {
        Assert.Equal([$"delivery.mailFileMode: {text} lets every local user in (its last digit is not 0); give readers a group (delivery.mailGroup) instead"], Problems(text));
    }

    [Theory]
    [InlineData("0400")]
    [InlineData("0060")]
    [InlineData("0000")]
    public void AModeWithoutTheOwnersReadAndWriteIsRefused(string text)
    {
        Assert.Equal([$"delivery.mailFileMode: {text} must give the owner read and write (0600 at least)"], Problems(text));
    }

    [Theory]
    [InlineData("0700")]
    [InlineData("0650")]
    [InlineData("0620")]
    [InlineData("0670")]
    public void ExecuteBitsAndGroupWriteWithoutReadAreRefused(string text)
    {
        Assert.Equal([$"delivery.mailFileMode: {text} is none of 0600 (the owner only), 0640 (the group reads) and 0660 (the group reads and writes)"], Problems(text));
    }

    [Fact]
    public void AGroupThatDoesNotExistIsRefused()
    {
        Assert.Equal(["delivery.mailGroup: no group 'vmail-missing' on this system (create it with groupadd, and add the service user to it)"], Problems("0640", "vmail-missing"));
    }

    [Fact]
    public void AGroupTheProcessIsNotAMemberOfIsRefusedAtStartNotAtTheFirstDelivery()
    {
        Assert.Equal(["delivery.mailGroup: this process (uid 1234) is not a member of group 'readers', so it cannot give mail files to it; add the service user to it (usermod -aG readers USER) and start again"],
            Problems("0640", "readers"));
        Assert.Empty(Problems("0640", "readers", new UnprivilegedProcess(5000)));
    }

    [Fact]
    public void WhoIsAMemberIsNoConfigurationProblemOnlyAProblemOfTheProcessThatMakesMailFiles()
    {
        // ConfigLoader.Validate asks only this: `queue list` or `backup` by an administrator outside the group works.
        var delivery = new DeliveryOptions { MailFileMode = "0640", MailGroup = "readers" };
        Assert.Empty(MailFileAccess.ConfigurationProblems(delivery, new UnprivilegedProcess()));
        Assert.Equal(["delivery.mailGroup: no group 'vmail-missing' on this system (create it with groupadd, and add the service user to it)"],
            MailFileAccess.ConfigurationProblems(new DeliveryOptions { MailFileMode = "0640", MailGroup = "vmail-missing" }, new UnprivilegedProcess()));
        Assert.Single(MailFileAccess.Problems(delivery, new UnprivilegedProcess()));
    }

    [Fact]
    public void TheRealGroupDatabaseIsAsked()
    {
        // root (gid 0) exists everywhere and the tests run as root, who may give files to any group.
        Assert.Equal(0, ProcessGroups.Current.Lookup("root"));
        Assert.Null(ProcessGroups.Current.Lookup("securemx-no-such-group"));
        var access = MailFileAccess.From(new DeliveryOptions { MailFileMode = "0640", MailGroup = "root" });
        Assert.Equal(0, access.GroupId);
    }

    [Fact]
    public void TheConfigurationIsRefusedWithEveryProblemNamed()
    {
        var options = new SecureMxOptions { Hostname = "mx.example.test", Delivery = { MailFileMode = "0666", MailGroup = "securemx-no-such-group" } };
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(options, _dir.Path));
        Assert.Contains("  delivery.mailFileMode: 0666 lets every local user in", ex.Message);
        Assert.Contains("  delivery.mailGroup: no group 'securemx-no-such-group' on this system", ex.Message);
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Delivery = { MailFileMode = "0660", MailGroup = "root" } }, _dir.Path);
    }
}
