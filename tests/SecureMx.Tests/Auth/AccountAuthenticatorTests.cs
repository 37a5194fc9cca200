using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SecureMx.Auth;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Auth;

public sealed class AccountAuthenticatorTests : IDisposable
{
    private readonly TestStore _store = new();

    public AccountAuthenticatorTests()
    {
        _store.Mailboxes.AddDomain("example.org");
        _store.Mailboxes.AddMailbox("alice", "example.org", PasswordHash.Create("password123"));
    }

    public void Dispose() => _store.Dispose();

    private AccountAuthenticator Create(TimeProvider time, string delay = "0s") =>
        new(_store.Mailboxes, new AuthOptions { FailureDelay = delay }, time, NullLogger.Instance);

    [Fact]
    public async Task TheRightPasswordLogsInUnderTheNormalizedAddress()
    {
        var auth = Create(TimeProvider.System);
        var (result, account) = await auth.LoginAsync(" Alice@EXAMPLE.org ", "password123", "192.0.2.1", "PLAIN", default);
        Assert.Equal((LoginResult.Success, "alice@example.org"), (result, account));
    }

    [Theory]
    [InlineData("alice@example.org", "wrong-password")]
    [InlineData("nobody@example.org", "password123")]
    [InlineData("not an address", "password123")]
    public async Task AnythingElseFailsWithoutAnAccount(string user, string password)
    {
        var auth = Create(TimeProvider.System);
        Assert.Equal((LoginResult.Failed, (string?)null), await auth.LoginAsync(user, password, "192.0.2.1", "PLAIN", default));
    }

    [Fact]
    public async Task AFailureIsAnsweredOnlyAfterTheConfiguredDelay()
    {
        var time = new FakeTimeProvider();
        var auth = Create(time, "2s");
        var login = auth.LoginAsync("alice@example.org", "wrong-password", "192.0.2.1", "PLAIN", default);
        await Task.Delay(300, TestContext.Current.CancellationToken);
        Assert.False(login.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(LoginResult.Failed, (await login).Result);
    }

    [Fact]
    public async Task AHashOfTheFirstReleaseStillWorksAndIsUpgradedAtLogin()
    {
        // pbkdf2-sha256, 1000 iterations, salt "salt-salt-salt-1", password "password123" (format of the first release).
        var salt = "salt-salt-salt-1"u8.ToArray();
        var hash = System.Security.Cryptography.Rfc2898DeriveBytes.Pbkdf2("password123"u8, salt, 1000, System.Security.Cryptography.HashAlgorithmName.SHA256, 32);
        _store.Mailboxes.SetPasswordHash("alice@example.org", $"pbkdf2-sha256$1000${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}");
        var auth = Create(TimeProvider.System);
        Assert.Equal(LoginResult.Success, (await auth.LoginAsync("alice@example.org", "password123", "192.0.2.1", "PLAIN", default)).Result);
        var upgraded = _store.Mailboxes.FindPasswordHash("alice@example.org")!;
        Assert.False(upgraded.StartsWith("pbkdf2-sha256$", StringComparison.Ordinal));
        Assert.Equal(PasswordCheck.Correct, PasswordHash.Check("password123", upgraded));
    }
}
