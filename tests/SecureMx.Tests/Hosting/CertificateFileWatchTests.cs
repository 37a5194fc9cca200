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

    private (string Cert, string Key) EcPair(string name)
    {
        // P-256 keys in PKCS#8 PEM all have the same length.
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=mx.example.test", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(90));
        var certFile = _dir.Combine(name + "-cert.pem");
        var keyFile = _dir.Combine(name + "-key.pem");
        File.WriteAllText(certFile, cert.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    [Fact]
    public void ARefusedPairIsRetriedAtEveryPollEvenWhenTimeAndLengthStayTheSame()
    {
        // A key fixed without a new time or length (a chmod/chown by a deploy hook, a rewrite in the same tick).
        var (cert, key) = EcPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var watch = Watch(source);
        var (newCert, newKey) = EcPair("b");
        var keyTime = File.GetLastWriteTimeUtc(key);
        File.Copy(newCert, cert, overwrite: true);
        Assert.Null(watch.Poll());
        Assert.Equal(CertificateReloadOutcome.Refused, watch.Poll()!.Outcome);
        Assert.Equal(CertificateReloadOutcome.Refused, watch.Poll()!.Outcome); // tried again, not forgotten

        Assert.Equal(new FileInfo(key).Length, new FileInfo(newKey).Length);
        File.Copy(newKey, key, overwrite: true);
        File.SetLastWriteTimeUtc(key, keyTime);

        var outcomes = new[] { watch.Poll(), watch.Poll() }.Select(r => r?.Outcome).ToArray();
        Assert.Contains(CertificateReloadOutcome.Swapped, outcomes.OfType<CertificateReloadOutcome>());
        Assert.Equal(X509Thumbprint(newCert), source.Current!.Certificate.Thumbprint);
    }

    [Fact]
    public void ARefusalIsLoggedOncePerStateNotAtEveryPoll()
    {
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var log = new CountingLogger();
        var watch = new CertificateFileWatch(source, TimeProvider.System, log);
        watch.Start();
        File.Delete(key);

        for (int i = 0; i < 6; i++) watch.Poll();

        Assert.Equal(1, log.Errors);
    }

    [Fact]
    public void ARenewalWhileTheServerStartedIsPickedUp()
    {
        // The pair is loaded at the host's build; the watch starts later, after the other services.
        var (cert, key) = NewPair("a");
        var source = ServerCertificateSource.Load(cert, key);
        var (newCert, newKey) = NewPair("b");
        File.Copy(newCert, cert, overwrite: true);
        File.Copy(newKey, key, overwrite: true);
        var watch = Watch(source);

        var outcomes = new[] { watch.Poll(), watch.Poll() }.Select(r => r?.Outcome).ToArray();
        Assert.Contains(CertificateReloadOutcome.Swapped, outcomes.OfType<CertificateReloadOutcome>());
        Assert.Equal(X509Thumbprint(newCert), source.Current!.Certificate.Thumbprint);
    }

    private sealed class CountingLogger : Microsoft.Extensions.Logging.ILogger<CertificateFileWatch>
    {
        public int Errors;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;
        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel >= Microsoft.Extensions.Logging.LogLevel.Error) Interlocked.Increment(ref Errors);
        }
    }

    private static string X509Thumbprint(string certFile) =>
        System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(certFile)).Thumbprint;
}
