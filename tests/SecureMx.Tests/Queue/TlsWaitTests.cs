using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Queue;

namespace SecureMx.Tests.Queue;

/// <summary>Recognising a recipient that waits for a server meeting its TLS requirement, and when it expires.</summary>
public sealed class TlsWaitTests
{
    private static readonly EffectiveTlsPolicy Encrypt = new(OutboundTlsLevel.Encrypt,
        [new("global default (delivery.defaultTlsLevel)", OutboundTlsLevel.Dane), new("sender account alice@example.org", OutboundTlsLevel.Encrypt)]);

    private static readonly DateTimeOffset Received = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("4.7.4 TLS is required, but was not offered by host mx.dest.test[192.0.2.1]")]
    [InlineData("4.7.5 mx.dest.test: no usable TLSA records")]
    public void TlsDeferralsWrittenByTheRunnerAreTlsWaits(string summary)
    {
        var error = TlsWait.Error(summary, Encrypt);

        Assert.Equal($"{summary} (TLS level encrypt (from sender account alice@example.org))", error);
        Assert.True(TlsWait.IsTlsWait(error));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("4.4.1 mx.dest.test[192.0.2.1]: connection refused")]
    [InlineData("4.7.5 mx.dest.test[192.0.2.1] said: 451 4.7.5 try later")] // the server's own 4.7.5, not our TLS requirement
    [InlineData("4.4.1 connection refused (TLS level encrypt (from sender account alice@example.org))")]
    [InlineData("5.7.4 mandatory TLS could not be met within 24h; last error: 4.7.4 x (TLS level encrypt (from destination dest.test))")]
    public void OtherErrorsAreNotTlsWaits(string? error) => Assert.False(TlsWait.IsTlsWait(error));

    [Fact]
    public void TlsWaitExpiresAfterTlsExpireAfterOthersAfterExpireAfter()
    {
        Assert.Equal(Received.AddHours(24), TlsWait.ExpiresAt(Received, tlsWait: true, TimeSpan.FromDays(5), TimeSpan.FromHours(24)));
        Assert.Equal(Received.AddDays(5), TlsWait.ExpiresAt(Received, tlsWait: false, TimeSpan.FromDays(5), TimeSpan.FromHours(24)));
    }

    [Fact]
    public void ExpireAfterEndsATlsWaitTooWhenItIsShorter()
    {
        Assert.Equal(Received.AddHours(12), TlsWait.ExpiresAt(Received, tlsWait: true, TimeSpan.FromHours(12), TimeSpan.FromHours(24)));
    }
}
