using System.Net;
using SecureMx.Mail;
using SecureMx.Smtp;

namespace SecureMx.Tests.Mail;

public sealed class ClientAddressTests
{
    [Theory]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("::ffff:127.0.0.1", "127.0.0.1")]
    [InlineData("192.0.2.7", "192.0.2.7")]
    [InlineData("2001:db8::7", "2001:db8::7")]
    [InlineData("::1", "::1")]
    public void AnIpv4MappedAddressIsTheIpv4Client(string seen, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), ClientAddress.Normalize(IPAddress.Parse(seen)));
    }

    [Theory]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::")]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2::")]
    [InlineData("::1", "::")]
    [InlineData("::ffff:192.0.2.7", "192.0.2.7")]
    [InlineData("192.0.2.7", "192.0.2.7")]
    public void TheLimitKeyIsTheIpv4AddressOrTheIpv6Slash64(string seen, string expected)
    {
        Assert.Equal(IPAddress.Parse(expected), ClientAddress.LimitKey(IPAddress.Parse(seen)));
    }

    [Fact]
    public void AddressesOfOneSlash64ShareOnePerClientLimit()
    {
        var limiter = new ConnectionLimiter(100, 2);
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:dead:beef:0:1")));
        // A third address of the same /64: the same client.
        Assert.Equal(SmtpReply.TooManyConnectionsFromIp, limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        // The next /64 is another client.
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:3::1")));

        // A slot released under another address of the /64 frees the /64's slot.
        limiter.Release(IPAddress.Parse("2001:db8:1:2:dead:beef:0:1"));
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("2001:db8:1:2::77")));
        Assert.Equal(3, limiter.Total);
    }

    [Fact]
    public void AnIpv4MappedAddressCountsAsItsIpv4Address()
    {
        var limiter = new ConnectionLimiter(100, 1);
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("192.0.2.7")));
        Assert.Equal(SmtpReply.TooManyConnectionsFromIp, limiter.TryAcquire(IPAddress.Parse("::ffff:192.0.2.7")));
        limiter.Release(IPAddress.Parse("::ffff:192.0.2.7"));
        Assert.Null(limiter.TryAcquire(IPAddress.Parse("192.0.2.7")));
    }
}
