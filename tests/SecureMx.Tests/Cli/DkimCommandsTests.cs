using System.CommandLine;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Cli;
using SecureMx.Dkim;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `securemx dkim add|list|remove`: keys only for hosted domains, a dated default selector per kind, the
/// private key in a 0600 file under a 0700 directory, and one-line errors (exit 1) for an unknown domain, a
/// selector the domain already has, an algorithm that is not offered.
/// </summary>
public sealed class DkimCommandsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _data;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 1, 0, 0, TimeSpan.Zero));

    public DkimCommandsTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var store = CliOptions.OpenStore(_data);
        new MailboxRepository(store, TimeProvider.System).AddDomain("example.org");
        store.ReleasePooledConnections();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private Task<int> RunAsync(params string[] args) =>
        new RootCommand { DkimCommands.Create(_time) }.Parse([.. args, "--data", _data])
            .InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });

    private List<DkimKey> Keys() => new DkimKeyRepository(CliOptions.OpenStoreForReading(_data), _time).List();

    [Fact]
    public async Task AddMakesAnActiveRsaKeyUnderADatedSelectorWithItsPrivateKeyInAFileOnlyTheOwnerReads()
    {
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org"));
        var key = Assert.Single(Keys());
        Assert.Equal(("example.org", "s20261206-rsa", DkimAlgorithm.Rsa2048, DkimKeyState.Active), (key.Domain, key.Selector, key.Algorithm, key.State));
        var file = Path.Combine(_data, "dkim", "example.org", "s20261206-rsa.pem");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_data, "dkim")));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_data, "dkim", "example.org")));
        Assert.StartsWith("-----BEGIN PRIVATE KEY-----", File.ReadAllText(file));
    }

    [Fact]
    public async Task BothKindsMadeTheSameDayGetSelectorsOfTheirOwnAndASecondOfAKindGetsALetter()
    {
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org", "--algorithm", "ed25519"));
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org"));
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org", "--algorithm", "ED25519"));
        Assert.Equal(["s20261206-ed", "s20261206-rsa", "s20261206b-ed"], Keys().Select(k => k.Selector).Order());
        Assert.All(Keys(), k => Assert.Equal(DkimKeyState.Active, k.State));
    }

    [Fact]
    public async Task AGivenSelectorIsUsedInLowerCase()
    {
        Assert.Equal(0, await RunAsync("dkim", "add", "Example.ORG", "--selector", "Mail2026"));
        Assert.Equal("mail2026", Assert.Single(Keys()).Selector);
    }

    [Theory]
    [InlineData("unknown domain", "example.net is not a hosted domain", "dkim", "add", "example.net")]
    [InlineData("bad algorithm", "'rsa-1024' is not a DKIM algorithm: use rsa-2048 or ed25519", "dkim", "add", "example.org", "--algorithm", "rsa-1024")]
    [InlineData("bad selector", "'-x' is not a valid selector", "dkim", "add", "example.org", "--selector", "-x")]
    [InlineData("nothing to remove", "example.org has no DKIM key with selector nope", "dkim", "remove", "example.org", "nope")]
    [InlineData("list of an unknown domain", "example.net is not a hosted domain", "dkim", "list", "example.net")]
    public async Task MistakesAreOneLineErrorsAndChangeNothing(string what, string message, params string[] args)
    {
        var error = await Assert.ThrowsAsync<CliException>(() => RunAsync(args));
        Assert.True(error.Message.StartsWith(message, StringComparison.Ordinal), $"{what}: {error.Message}");
        Assert.Empty(Keys());
        Assert.False(Directory.Exists(Path.Combine(_data, "dkim", "example.net")));
    }

    [Fact]
    public async Task ADuplicateSelectorIsRefusedAndTheFirstKeyStays()
    {
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org", "--selector", "sel"));
        var first = File.ReadAllText(Path.Combine(_data, "dkim", "example.org", "sel.pem"));
        var error = await Assert.ThrowsAsync<CliException>(() => RunAsync("dkim", "add", "example.org", "--selector", "sel", "--algorithm", "ed25519"));
        Assert.Equal("example.org already has a DKIM key with selector sel", error.Message);
        Assert.Equal(first, File.ReadAllText(Path.Combine(_data, "dkim", "example.org", "sel.pem")));
        Assert.Equal(DkimAlgorithm.Rsa2048, Assert.Single(Keys()).Algorithm);
    }

    [Fact]
    public async Task TheMistakesExitWithOne()
    {
        Assert.Equal(1, await SecureMx.Program.Main(["dkim", "add", "example.net", "--data", _data]));
    }

    [Fact]
    public async Task RemoveDeletesTheRowAndThePrivateKey()
    {
        Assert.Equal(0, await RunAsync("dkim", "add", "example.org", "--selector", "sel"));
        Assert.Equal(0, await RunAsync("dkim", "list", "example.org"));
        Assert.Equal(0, await RunAsync("dkim", "remove", "example.org", "sel"));
        Assert.Empty(Keys());
        Assert.False(File.Exists(Path.Combine(_data, "dkim", "example.org", "sel.pem")));
    }
}
