using System.Security.Cryptography.X509Certificates;
using SecureMx.Hosting;
using SecureMx.Spool;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>The retirement of the next-key files, which the running server and <c>tls rollover</c> may race for.</summary>
public sealed class NextKeyRetirementTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void ANextKeyThatGoesBetweenTheLookAndTheReadIsAlreadyRetiredNotAnError()
    {
        // A link whose target is gone: File.Exists says yes, the read finds nothing — as when the
        // server's file watch removes the file between the two.
        Directory.CreateDirectory(Path.GetDirectoryName(NextTlsKey.KeyPath(_dir.Path))!);
        File.CreateSymbolicLink(NextTlsKey.KeyPath(_dir.Path), _dir.Combine("gone.pem"));
        Assert.True(File.Exists(NextTlsKey.KeyPath(_dir.Path)));
        var (certPem, _) = CertificateFactory.CreateSelfSigned("mx.example.test", TimeProvider.System);
        using var served = X509Certificate2.CreateFromPem(certPem);

        Assert.False(NextKeyRetirement.RetireIfServed(_dir.Path, served, DurableFiles.Default));
    }
}
