using SecureMx.Dovecot;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dovecot;

/// <summary>
/// The key of the policy endpoint: 256 random bits as 64 hex digits, readable only by the instance's
/// user, made once and then read by `serve` and `dovecot-config` alike, whichever comes first.
/// </summary>
public sealed class DovecotPolicyKeyTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void TheFirstCallCreates64HexDigitsReadableOnlyByTheOwnerInADirectoryOnlyTheOwnerEnters()
    {
        var key = DovecotPolicyKey.LoadOrCreate(_dir.Path);

        Assert.Matches("^[0-9a-f]{64}$", key);
        var path = DovecotPolicyKey.PathIn(_dir.Path);
        Assert.Equal(_dir.Combine("dovecot", "policy.key"), path);
        Assert.Equal(key + "\n", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_dir.Combine("dovecot")));
        // Nothing else is left beside it (no temporary file with the key in it).
        Assert.Equal([path], Directory.GetFileSystemEntries(_dir.Combine("dovecot")));
    }

    [Fact]
    public void LaterCallsReturnTheSameKey()
    {
        var first = DovecotPolicyKey.LoadOrCreate(_dir.Path);
        Assert.Equal(first, DovecotPolicyKey.LoadOrCreate(_dir.Path));
        Assert.Equal(first, DovecotPolicyKey.LoadOrCreate(_dir.Path));
    }

    [Fact]
    public void EveryInstanceGetsAKeyOfItsOwn()
    {
        using var other = new TempDirectory();
        Assert.NotEqual(DovecotPolicyKey.LoadOrCreate(_dir.Path), DovecotPolicyKey.LoadOrCreate(other.Path));
    }

    [Fact]
    public void AKeyWrittenByHandWithSurroundingWhitespaceIsRead()
    {
        Directory.CreateDirectory(_dir.Combine("dovecot"));
        var key = new string('a', 32) + new string('7', 32);
        File.WriteAllText(DovecotPolicyKey.PathIn(_dir.Path), "  " + key + "\r\n\n");
        Assert.Equal(key, DovecotPolicyKey.LoadOrCreate(_dir.Path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("not a key at all, but long enough to pass a length check!!!!!!!!!!!!")]
    [InlineData("0123456789abcdef")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0")]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg")]
    public void AFileThatHoldsNoKeyIsReportedWithItsPathAndLeftAsItIs(string content)
    {
        Directory.CreateDirectory(_dir.Combine("dovecot"));
        var path = DovecotPolicyKey.PathIn(_dir.Path);
        File.WriteAllText(path, content);

        var ex = Assert.Throws<InvalidDataException>(() => DovecotPolicyKey.LoadOrCreate(_dir.Path));
        Assert.Contains(path, ex.Message);
        Assert.Contains("64 hex digits", ex.Message);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void CallersRacingOnAFreshInstanceAllGetTheOneKeyThatWasWritten()
    {
        // serve and dovecot-config may start together: the loser must read the winner's key, never a
        // half-written file (which would fail as corrupt) nor write a second key over it.
        // Threads of their own, not the pool's: the barrier blocks them, and other tests need the pool.
        const int callers = 4;
        for (int round = 0; round < 200; round++)
        {
            using var dir = new TempDirectory();
            using var start = new Barrier(callers);
            var keys = new string?[callers];
            var errors = new Exception?[callers];
            var threads = Enumerable.Range(0, callers).Select(n => new Thread(() =>
            {
                start.SignalAndWait();
                try { keys[n] = DovecotPolicyKey.LoadOrCreate(dir.Path); }
                catch (Exception ex) { errors[n] = ex; }
            })).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            Assert.All(errors, Assert.Null);
            Assert.Single(keys.Distinct());
            Assert.Equal(keys[0] + "\n", File.ReadAllText(DovecotPolicyKey.PathIn(dir.Path)));
            Assert.Single(Directory.GetFileSystemEntries(dir.Combine("dovecot")));
        }
    }
}
