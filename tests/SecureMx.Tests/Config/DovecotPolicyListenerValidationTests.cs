using SecureMx.Config;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Config;

/// <summary>
/// listeners.dovecotPolicy speaks plain HTTP and feeds the login throttle: the configuration accepts it
/// only on a loopback address (Dovecot runs on the same machine), or off.
/// </summary>
public sealed class DovecotPolicyListenerValidationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DovecotPolicyListenerValidationTests()
    {
        Directory.CreateDirectory(_dir.Combine("tls"));
        File.WriteAllText(_dir.Combine("tls", "cert.pem"), "");
        File.WriteAllText(_dir.Combine("tls", "key.pem"), "");
    }

    public void Dispose() => _dir.Dispose();

    private void Validate(string dovecotPolicy) =>
        ConfigLoader.Validate(new SecureMxOptions { Hostname = "mx.example.test", Listeners = { DovecotPolicy = dovecotPolicy } }, _dir.Path);

    [Theory]
    [InlineData("off")]
    [InlineData("OFF")]
    [InlineData("127.0.0.1:2524")]
    [InlineData("127.0.3.9:8080")]
    [InlineData("[::1]:2524")]
    public void LoopbackAndOffAreAccepted(string value)
    {
        Validate(value);
    }

    [Fact]
    public void TheDefaultIsOff()
    {
        Assert.Equal("off", new SecureMxOptions().Listeners.DovecotPolicy);
    }

    [Theory]
    [InlineData("0.0.0.0:2524")]
    [InlineData("192.0.2.1:2524")]
    [InlineData("[::]:2524")]
    [InlineData("[2001:db8::1]:2524")]
    public void AnyOtherAddressIsRefusedWithTheReason(string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(value));
        Assert.Equal($"invalid configuration:\n  listeners.dovecotPolicy: only on a loopback address (it is {value}); Dovecot runs on the same machine and the endpoint speaks plain HTTP", ex.Message);
    }

    [Theory]
    [InlineData("localhost:2524")]
    [InlineData("127.0.0.1")]
    [InlineData("::1:2524")]
    [InlineData("")]
    public void TextThatIsNoEndpointIsRefusedOnceAsNotAnEndpoint(string value)
    {
        var ex = Assert.Throws<ConfigException>(() => Validate(value));
        Assert.Equal($"invalid configuration:\n  listeners.dovecotPolicy: '{value}' is not ADDR:PORT (for example 127.0.0.1:2525 or [::1]:2525) or 'off'", ex.Message);
    }
}
