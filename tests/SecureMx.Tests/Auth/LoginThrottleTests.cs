using Microsoft.Extensions.Time.Testing;
using SecureMx.Auth;

namespace SecureMx.Tests.Auth;

public sealed class LoginThrottleTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    [Fact]
    public void AnAddressIsBlockedAfterItsLimitAndFreedWhenTheFailuresLeaveTheWindow()
    {
        var time = new FakeTimeProvider();
        var t = new LoginThrottle(time, Window, maxPerIp: 3, maxPerAccount: 100);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.1", "user" + i));
            t.RecordFailure("192.0.2.1", "user" + i);
            time.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, t.Check("192.0.2.1", "someone-else"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.2", "someone-else"));
        time.Advance(Window - TimeSpan.FromMinutes(3)); // the first failure is now 15 min old
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.1", "someone-else"));
    }

    [Fact]
    public void AnAccountIsBlockedFromEveryAddressAfterFailuresFromMany()
    {
        var time = new FakeTimeProvider();
        var t = new LoginThrottle(time, Window, maxPerIp: 100, maxPerAccount: 3);
        for (int i = 0; i < 3; i++) t.RecordFailure("198.51.100." + i, "alice@example.org");
        Assert.Equal(LoginThrottle.Verdict.AccountBlocked, t.Check("203.0.113.9", "alice@example.org"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("203.0.113.9", "bob@example.org"));
    }

    [Fact]
    public void AnAccountBlockSparesAddressesThatLoggedInRecently()
    {
        var time = new FakeTimeProvider();
        var t = new LoginThrottle(time, Window, maxPerIp: 100, maxPerAccount: 2);
        t.RecordSuccess("192.0.2.7", "alice@example.org");
        t.RecordFailure("198.51.100.1", "alice@example.org");
        t.RecordFailure("198.51.100.2", "alice@example.org");
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.7", "alice@example.org"));
        Assert.Equal(LoginThrottle.Verdict.AccountBlocked, t.Check("198.51.100.3", "alice@example.org"));
        // A success long ago does not count.
        time.Advance(Window);
        t.RecordFailure("198.51.100.1", "alice@example.org");
        t.RecordFailure("198.51.100.2", "alice@example.org");
        Assert.Equal(LoginThrottle.Verdict.AccountBlocked, t.Check("192.0.2.7", "alice@example.org"));
    }

    [Fact]
    public void ASuccessForgivesTheAddressItsEarlierFailures()
    {
        var time = new FakeTimeProvider();
        var t = new LoginThrottle(time, Window, maxPerIp: 2, maxPerAccount: 100);
        t.RecordFailure("192.0.2.1", "alice@example.org");
        t.RecordSuccess("192.0.2.1", "alice@example.org");
        t.RecordFailure("192.0.2.1", "alice@example.org");
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.1", "alice@example.org"));
    }
}
