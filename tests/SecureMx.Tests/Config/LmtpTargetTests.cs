using System.Net;
using System.Net.Sockets;
using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>delivery.lmtp: what it accepts, how it names the server, and when STARTTLS is required.</summary>
public sealed class LmtpTargetTests
{
    [Fact]
    public void EmptyMeansMaildirDelivery()
    {
        Assert.Null(LmtpTarget.Parse(""));
        Assert.Equal("", new SecureMxOptions().Delivery.Lmtp);
    }

    [Theory]
    [InlineData("unix:/run/dovecot/lmtp", "/run/dovecot/lmtp", null, 0)]
    [InlineData("127.0.0.1:24", null, "127.0.0.1", 24)]
    [InlineData("[::1]:24", null, "::1", 24)]
    [InlineData("[2001:db8::7]:2424", null, "2001:db8::7", 2424)]
    [InlineData("localhost:24", null, "localhost", 24)]
    [InlineData("Mail-Store.Example.NET:65535", null, "mail-store.example.net", 65535)]
    public void ParsesSocketsAddressesAndHostNames(string text, string? socket, string? host, int port)
    {
        var target = LmtpTarget.Parse(text)!;
        Assert.Equal((socket, host, port), (target.SocketPath, target.Host, target.Port));
        Assert.Equal(socket is not null, target.IsUnixSocket);
        Assert.Equal(text.ToLowerInvariant(), target.ToString().ToLowerInvariant());
    }

    [Theory]
    [InlineData("unix:run/dovecot/lmtp", "must be absolute")]
    [InlineData("unix:", "must be absolute")]
    [InlineData("/run/dovecot/lmtp", "")]
    [InlineData("127.0.0.1", "")]
    [InlineData("127.0.0.1:", "is not a port")]
    [InlineData("127.0.0.1:0", "is not a port")]
    [InlineData("127.0.0.1:65536", "is not a port")]
    [InlineData("127.0.0.1:+24", "is not a port")]
    [InlineData("::1:24", "")]
    [InlineData("[::1]24", "")]
    [InlineData("[127.0.0.1]:24", "is not an IPv6 address")]
    [InlineData("127.1:24", "neither an IPv4 address nor a host name")]
    [InlineData("-bad.example:24", "neither an IPv4 address nor a host name")]
    [InlineData("under_score.example:24", "neither an IPv4 address nor a host name")]
    [InlineData("lmtp.example..net:24", "neither an IPv4 address nor a host name")]
    [InlineData("tcp://127.0.0.1:24", "")]
    public void RefusesGarbageNamingTheKeyAndTheForms(string text, string why)
    {
        var ex = Assert.Throws<FormatException>(() => LmtpTarget.Parse(text));
        Assert.StartsWith($"delivery.lmtp: '{text}' is not unix:/path/to/socket, HOST:PORT or [IPv6]:PORT", ex.Message);
        Assert.Contains(why, ex.Message);
    }

    [Fact]
    public void ASocketPathLongerThanSunPathIsRefused()
    {
        var fits = "/" + new string('s', LmtpTarget.MaxSocketPathBytes - 1);
        Assert.NotNull(LmtpTarget.Parse("unix:" + fits));
        var ex = Assert.Throws<FormatException>(() => LmtpTarget.Parse("unix:" + fits + "s"));
        Assert.Contains("at most 107 bytes", ex.Message);
    }

    [Fact]
    public void StartupValidationNamesAnInvalidLmtpTarget()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("tls"));
        File.WriteAllText(dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(dir.Combine("tls", "key.pem"), "");
        var options = new SecureMxOptions { Hostname = "mx.example.test" };
        ConfigLoader.Validate(options, dir.Path); // valid as it is

        options.Delivery.Lmtp = "dovecot";
        var ex = Assert.Throws<ConfigException>(() => ConfigLoader.Validate(options, dir.Path));
        Assert.Equal("invalid configuration:\n  delivery.lmtp: 'dovecot' is not unix:/path/to/socket, HOST:PORT or [IPv6]:PORT (for example unix:/run/dovecot/lmtp or 127.0.0.1:24)", ex.Message);

        options.Delivery.Lmtp = "unix:/run/dovecot/lmtp";
        ConfigLoader.Validate(options, dir.Path);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("127.0.0.2", false)]
    [InlineData("::1", false)]
    [InlineData("192.0.2.5", true)]
    [InlineData("10.0.0.1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("::ffff:192.0.2.5", true)]
    public void TlsIsRequiredOverTcpExceptToLoopback(string address, bool required)
    {
        Assert.Equal(required, LmtpTarget.RequiresTls(new IPEndPoint(IPAddress.Parse(address), 24)));
    }

    [Fact]
    public void AUnixSocketNeedsNoTls()
    {
        Assert.False(LmtpTarget.RequiresTls(new UnixDomainSocketEndPoint("/run/dovecot/lmtp")));
    }
}
