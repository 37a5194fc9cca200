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
    public void FailuresFromAddressesOfOneIpv6Slash64CountAsOneClient()
    {
        var t = new LoginThrottle(new FakeTimeProvider(), Window, maxPerIp: 3, maxPerAccount: 100);
        // A host that rotates its interface identifier is still the same client.
        for (int i = 1; i <= 3; i++) t.RecordFailure($"2001:db8:1:2::{i:x}", "user" + i);
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, t.Check("2001:db8:1:2:abcd::99", "someone-else"));
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("2001:db8:1:3::1", "someone-else"));
    }

    [Fact]
    public void AnIpv4MappedAddressFromADualStackListenerIsItsIpv4Address()
    {
        var t = new LoginThrottle(new FakeTimeProvider(), Window, maxPerIp: 2, maxPerAccount: 100);
        t.RecordFailure("::ffff:192.0.2.1", "a");
        t.RecordFailure("192.0.2.1", "b");
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, t.Check("192.0.2.1", "c"));
        Assert.Equal(LoginThrottle.Verdict.IpBlocked, t.Check("::ffff:192.0.2.1", "c"));
        // A success from the mapped form forgives the IPv4 address.
        t.RecordSuccess("::ffff:192.0.2.1", "c");
        Assert.Equal(LoginThrottle.Verdict.Allowed, t.Check("192.0.2.1", "c"));
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
