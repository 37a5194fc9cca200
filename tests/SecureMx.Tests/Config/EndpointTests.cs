using System.Net;
using SecureMx.Config;

namespace SecureMx.Tests.Config;

public sealed class EndpointTests
{
    [Theory]
    [InlineData("127.0.0.1:2525", "127.0.0.1", 2525)]
    [InlineData("0.0.0.0:25", "0.0.0.0", 25)]
    [InlineData("[::1]:25", "::1", 25)]
    [InlineData("[::]:587", "::", 587)]
    [InlineData("[2001:db8::5]:65535", "2001:db8::5", 65535)]
    public void ParsesAddressAndPort(string text, string address, int port)
    {
        var ep = Endpoint.Parse(text, "listeners.mx");
        Assert.NotNull(ep);
        Assert.Equal(IPAddress.Parse(address), ep.Address);
        Assert.Equal(port, ep.Port);
    }

    [Theory]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("Off")]
    public void OffIsNull(string text)
    {
        Assert.Null(Endpoint.Parse(text, "listeners.mx"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("127.0.0.1")]
    [InlineData("127.0.0.1:")]
    [InlineData("127.0.0.1:0")]
    [InlineData("127.0.0.1:65536")]
    [InlineData("127.0.0.1:-1")]
    [InlineData("localhost:25")]
    [InlineData("::1:25")]
    [InlineData("::1")]
    [InlineData("[::1]")]
    [InlineData("[::1]25")]
    [InlineData("127.0.0.1:25:25")]
    [InlineData("no")]
    public void RejectsMalformedEndpointsWithTheSettingName(string text)
    {
        var ex = Assert.Throws<FormatException>(() => Endpoint.Parse(text, "listeners.submission"));
        Assert.Contains("listeners.submission", ex.Message, StringComparison.Ordinal);
    }
}
