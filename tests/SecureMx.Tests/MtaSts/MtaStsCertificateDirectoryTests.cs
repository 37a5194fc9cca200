using Microsoft.Extensions.Time.Testing;
using SecureMx.MtaSts;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.MtaSts;

/// <summary>The MTA-STS listener's certificates: one pair per SNI name, picked up and replaced without a restart.</summary>
public sealed class MtaStsCertificateDirectoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 5, 12, 0, 0, TimeSpan.Zero));
    private readonly ListLogger _log = new();

    public void Dispose() => _dir.Dispose();

    private MtaStsCertificateDirectory Directory() => new(_dir.Path, _time, _log);

    /// <summary>Writes NAME.pem and NAME.key for a self-signed certificate of <paramref name="subject"/>; returns its thumbprint.</summary>
    private string Write(string fileName, string subject)
    {
        var (cert, key) = CertificateFactory.CreateSelfSigned(subject, TimeProvider.System);
        File.WriteAllText(_dir.Combine(fileName + ".pem"), cert);
        File.WriteAllText(_dir.Combine(fileName + ".key"), key);
        return System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(cert).Thumbprint;
    }

    [Fact]
    public void TheCertificateIsChosenByTheServerName()
    {
        var a = Write("mta-sts.a.test", "mta-sts.a.test");
        var b = Write("mta-sts.b.test", "mta-sts.b.test");
        var directory = Directory();
        Assert.Equal(a, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
        Assert.Equal(b, directory.For("MTA-STS.B.TEST.")!.Certificate.Thumbprint);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("mta-sts.c.test")]
    [InlineData("a.test")]
    [InlineData("www.a.test")]
    public void ANameWithoutAPairHasNoCertificate(string? name)
    {
        Write("mta-sts.a.test", "mta-sts.a.test");
        Assert.Null(Directory().For(name));
    }

    [Theory]
    [InlineData("mta-sts.../../etc/passwd")]
    [InlineData("mta-sts.a.test/../mta-sts.a.test")]
    [InlineData("mta-sts.a.test\0")]
    [InlineData("mta-sts.a test")]
    [InlineData("mta-sts.-a.test")]
    [InlineData("mta-sts..a.test")]
    public void AHostileNameNeverBecomesAPath(string name)
    {
        Write("mta-sts.a.test", "mta-sts.a.test");
        Assert.Null(MtaStsCertificateDirectory.Normalize(name));
        Assert.Null(Directory().For(name));
    }

    [Fact]
    public void AnOverlongNameIsRefused()
    {
        Assert.Null(MtaStsCertificateDirectory.Normalize("mta-sts." + string.Join(".", Enumerable.Repeat(new string('a', 60), 5))));
    }

    [Fact]
    public void APairWhoseCertificateIsForAnotherNameIsRefused()
    {
        Write("mta-sts.a.test", "mta-sts.b.test");
        Assert.Null(Directory().For("mta-sts.a.test"));
        Assert.True(_log.Lines.Any(l => l.StartsWith("Error:", StringComparison.Ordinal) && l.Contains("not valid for mta-sts.a.test", StringComparison.Ordinal)), string.Join("\n", _log.Lines));
    }

    [Fact]
    public void ARenewedCertificateIsUsedAfterTheRecheckInterval()
    {
        var old = Write("mta-sts.a.test", "mta-sts.a.test");
        var directory = Directory();
        Assert.Equal(old, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
        var renewed = Write("mta-sts.a.test", "mta-sts.a.test");
        Assert.Equal(old, directory.For("mta-sts.a.test")!.Certificate.Thumbprint); // within the interval: not looked at
        _time.Advance(MtaStsCertificateDirectory.RecheckAfter);
        Assert.Equal(renewed, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
    }

    [Fact]
    public void AnAddedPairIsUsedAtTheFirstHandshakeThatNamesIt()
    {
        var directory = Directory();
        Assert.Null(directory.For("mta-sts.new.test"));
        var added = Write("mta-sts.new.test", "mta-sts.new.test");
        var pair = directory.For("mta-sts.new.test");
        Assert.True(pair is not null, string.Join("\n", _log.Lines));
        Assert.Equal(added, pair.Certificate.Thumbprint);
    }

    [Fact]
    public void ABrokenFileKeepsTheLastGoodPairAndIsLoggedOnce()
    {
        var good = Write("mta-sts.a.test", "mta-sts.a.test");
        var directory = Directory();
        Assert.Equal(good, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
        // A renewal half done: a new key next to the old certificate.
        var (_, otherKey) = CertificateFactory.CreateSelfSigned("mta-sts.a.test", TimeProvider.System);
        File.WriteAllText(_dir.Combine("mta-sts.a.test.key"), otherKey);
        for (int i = 0; i < 3; i++)
        {
            _time.Advance(MtaStsCertificateDirectory.RecheckAfter);
            Assert.Equal(good, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
        }
        Assert.Single(_log.Lines, l => l.StartsWith("Error:", StringComparison.Ordinal) && l.Contains("the previous certificate stays in use", StringComparison.Ordinal));
        // Deleted: still the last good pair (a removal is no reason to show no certificate mid-renewal).
        File.Delete(_dir.Combine("mta-sts.a.test.pem"));
        _time.Advance(MtaStsCertificateDirectory.RecheckAfter);
        Assert.Equal(good, directory.For("mta-sts.a.test")!.Certificate.Thumbprint);
    }
}
