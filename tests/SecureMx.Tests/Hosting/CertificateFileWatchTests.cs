using Microsoft.Extensions.Logging.Abstractions;
using SecureMx.Hosting;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Hosting;

/// <summary>The watch on tls.certificate and tls.key, one poll at a time.</summary>
public sealed class CertificateFileWatchTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private (string Cert, string Key) NewPair(string name)
    {
        var (cert, key) = CertificateFactory.CreateSelfSigned("mx.example.test", TimeProvider.System);
        var certFile = _dir.Combine(name + "-cert.pem");
        var keyFile = _dir.Combine(name + "-key.pem");
        File.WriteAllText(certFile, cert);
        File.WriteAllText(keyFile, key);
        return (certFile, keyFile);
    }

    private static CertificateFileWatch Watch(ServerCertificateSource source)
    {
        var watch = new CertificateFileWatch(source, TimeProvider.System, NullLogger<CertificateFileWatch>.Instance);
        watch.Start();
        return watch;
    }

    [Fact]
    public void NothingHappensWhileTheFilesStayAsTheyWere()
    {
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var watch = Watch(source);

        Assert.Null(watch.Poll());
        Assert.Null(watch.Poll());
    }

    [Fact]
    public void AChangeIsReloadedOnceItHeldForOnePoll()
    {
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var first = source.Current;
        var watch = Watch(source);
        var (newCert, newKey) = NewPair("b");
        File.Copy(newCert, cert, overwrite: true);
        File.Copy(newKey, key, overwrite: true);

        Assert.Null(watch.Poll()); // just changed: it may still be being written
        Assert.Same(first, source.Current);
        Assert.Equal(CertificateReloadOutcome.Swapped, watch.Poll()!.Outcome);
        Assert.Null(watch.Poll()); // handled once
    }

    [Fact]
    public void ARetargetedSymlinkAsCertbotLeavesItIsFollowed()
    {
        // certbot: live/NAME/cert.pem -> ../../archive/NAME/certN.pem; a renewal points the links at N+1.
        var (cert1, key1) = NewPair("1");
        var (cert2, key2) = NewPair("2");
        var certLink = _dir.Combine("cert.pem");
        var keyLink = _dir.Combine("key.pem");
        File.CreateSymbolicLink(certLink, cert1);
        File.CreateSymbolicLink(keyLink, key1);
        var source = ServerCertificateSource.Load(certLink, keyLink);
        var watch = Watch(source);
        // Same modification times and sizes could hide a change; the link's target is part of the state.
        File.SetLastWriteTimeUtc(cert2, File.GetLastWriteTimeUtc(cert1));
        File.SetLastWriteTimeUtc(key2, File.GetLastWriteTimeUtc(key1));

        File.Delete(certLink);
        File.CreateSymbolicLink(certLink, cert2);
        File.Delete(keyLink);
        File.CreateSymbolicLink(keyLink, key2);

        Assert.Null(watch.Poll());
        Assert.Equal(CertificateReloadOutcome.Swapped, watch.Poll()!.Outcome);
        Assert.Equal(X509Thumbprint(cert2), source.Current!.Certificate.Thumbprint);
    }

    [Fact]
    public void AHalfWrittenRenewalIsRefusedThenTakenWhenTheKeyFollows()
    {
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var first = source.Current;
        var watch = Watch(source);
        var (newCert, newKey) = NewPair("b");
        File.Copy(newCert, cert, overwrite: true); // the certificate first …

        Assert.Null(watch.Poll());
        Assert.Equal(CertificateReloadOutcome.Refused, watch.Poll()!.Outcome);
        Assert.Same(first, source.Current);

        File.Copy(newKey, key, overwrite: true); // … the key a moment later
        Assert.Null(watch.Poll());
        Assert.Equal(CertificateReloadOutcome.Swapped, watch.Poll()!.Outcome);
        Assert.Equal(X509Thumbprint(newCert), source.Current!.Certificate.Thumbprint);
    }

    [Fact]
    public void DeletedFilesAreRefusedAndTheServerKeepsItsPair()
    {
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var first = source.Current;
        var watch = Watch(source);
        File.Delete(key);

        Assert.Null(watch.Poll());
        Assert.Equal(CertificateReloadOutcome.Refused, watch.Poll()!.Outcome);
        Assert.Same(first, source.Current);
    }

    private static string X509Thumbprint(string certFile) =>
        System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(certFile)).Thumbprint;
}
