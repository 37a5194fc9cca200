using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>
/// [::] is dual-stack: an IPv4 listener on the same port next to it would fail to bind (EADDRINUSE), so
/// the configuration refuses the pair and says why.
/// </summary>
public sealed class ListenerEndpointsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public ListenerEndpointsTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(string mx, string submission) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Listeners = { Mx = mx, Submission = submission } }, _dir.Path);

    [Theory]
    [InlineData("[::]:25", "0.0.0.0:25")]
    [InlineData("[::]:25", "192.0.2.1:25")]
    [InlineData("0.0.0.0:587", "[::]:587")]
    public void ADualStackListenerNextToAnIpv4ListenerOnTheSamePortIsRefusedWithItsReason(string mx, string submission)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(mx, submission));
        Assert.Contains("dual-stack", ex.Message, StringComparison.Ordinal);
        Assert.Contains("listeners.mx", ex.Message, StringComparison.Ordinal);
        Assert.Contains("listeners.submission", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[::]:25", "[::]:587")]
    [InlineData("[::]:25", "0.0.0.0:587")]
    [InlineData("[::1]:25", "127.0.0.1:25")]
    [InlineData("[2001:db8::1]:25", "0.0.0.0:25")]
    [InlineData("[::]:25", "off")]
    public void OtherPairsAreAccepted(string mx, string submission)
    {
        Validate(mx, submission);
    }
}
