using SecureMx.Config;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Config;

/// <summary>The instance's PKIX trust: delivery.trustAnchorsFile read as serve, probe and the certificate check read it.</summary>
public sealed class InstanceTrustTests
{
    [Fact]
    public void ARelativeTrustAnchorsFileIsResolvedAgainstTheDataDirectory()
    {
        using var dir = new TempDirectory();
        using var cert = TestCertificates.IssuedByPrivateCa("mx.example.org");
        File.WriteAllText(Path.Combine(dir.Path, "anchors.pem"), cert.Ca!.ExportCertificatePem() + "\n");
        var options = new SecureMxOptions { Hostname = "mx.example.test" };
        options.Delivery.TrustAnchorsFile = "anchors.pem";
        Assert.False(File.Exists(Path.Combine(Environment.CurrentDirectory, "anchors.pem"))); // not found by the working directory

        var trust = InstanceTrust.Load(dir.Path, options);

        Assert.Single(trust.ExtraAnchors);
        Assert.True(trust.Validate(cert.Leaf, [], "mx.example.org", DateTimeOffset.UtcNow).Valid);
    }

    [Fact]
    public void NoTrustAnchorsFileIsTheSystemsCasAlone() =>
        Assert.Same(PkixTrust.SystemOnly, InstanceTrust.Load("/nonexistent", new SecureMxOptions { Hostname = "mx.example.test" }));

    [Fact]
    public void AMissingRelativeFileIsAnErrorNamingThePathInTheDataDirectory()
    {
        using var dir = new TempDirectory();
        var options = new SecureMxOptions { Hostname = "mx.example.test" };
        options.Delivery.TrustAnchorsFile = "missing.pem";
        var error = Assert.Throws<InvalidOperationException>(() => InstanceTrust.Load(dir.Path, options));
        Assert.Contains(Path.Combine(dir.Path, "missing.pem"), error.Message);
    }
}
