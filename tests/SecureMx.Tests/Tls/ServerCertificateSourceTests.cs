using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Tls;

/// <summary>The reloadable certificate pair: a good new pair replaces the old one, anything else keeps it.</summary>
public sealed class ServerCertificateSourceTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private string Cert => _dir.Combine("cert.pem");
    private string Key => _dir.Combine("key.pem");

    public void Dispose() => _dir.Dispose();

    private (string Cert, string Key) WritePair(string host = "mx.example.test")
    {
        var (cert, key) = CertificateFactory.CreateSelfSigned(host, TimeProvider.System);
        File.WriteAllText(Cert, cert);
        File.WriteAllText(Key, key);
        return (cert, key);
    }

    [Fact]
    public void ANewPairReplacesThePreviousOneWhichStaysUsable()
    {
        WritePair();
        var source = ServerCertificateSource.Load(Cert, Key);
        var first = source.Current!;
        WritePair();

        var result = source.Reload();

        Assert.Equal(CertificateReloadOutcome.Swapped, result.Outcome);
        Assert.NotEqual(first.Certificate.Thumbprint, source.Current!.Certificate.Thumbprint);
        Assert.Same(source.Current, result.Now);
        Assert.Same(first, result.Previous);
        // Sessions in progress hold the old pair: it is not disposed.
        Assert.True(first.Certificate.HasPrivateKey);
        Assert.NotNull(first.Certificate.Subject);
    }

    [Fact]
    public void TheSameFilesAreNoChange()
    {
        WritePair();
        var source = ServerCertificateSource.Load(Cert, Key);
        var first = source.Current;

        var result = source.Reload();

        Assert.Equal(CertificateReloadOutcome.Unchanged, result.Outcome);
        Assert.Same(first, source.Current);
    }

    [Fact]
    public void ANewCertificateWithTheOldKeyIsRefusedAndTheOldPairKept()
    {
        // A renewal writes the certificate first and the key a moment later: in between they do not match.
        var (_, oldKey) = WritePair();
        var source = ServerCertificateSource.Load(Cert, Key);
        var first = source.Current;
        WritePair();
        File.WriteAllText(Key, oldKey);

        var result = source.Reload();

        Assert.Equal(CertificateReloadOutcome.Refused, result.Outcome);
        Assert.Contains("do not form a usable pair", result.Reason);
        Assert.Same(first, source.Current);
    }

    [Theory]
    [InlineData("garbage certificate")]
    [InlineData("garbage key")]
    [InlineData("empty key")]
    [InlineData("missing key")]
    [InlineData("missing certificate")]
    public void AnUnusablePairIsRefusedAndTheOldPairKept(string fault)
    {
        WritePair();
        var source = ServerCertificateSource.Load(Cert, Key);
        var first = source.Current;
        switch (fault)
        {
            case "garbage certificate": File.WriteAllText(Cert, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"); break;
            case "garbage key": File.WriteAllBytes(Key, [0x30, 0x82, 0xff, 0x00, 0x42]); break;
            case "empty key": File.WriteAllText(Key, ""); break;
            case "missing key": File.Delete(Key); break;
            case "missing certificate": File.Delete(Cert); break;
        }

        var result = source.Reload();

        Assert.Equal(CertificateReloadOutcome.Refused, result.Outcome);
        Assert.False(string.IsNullOrEmpty(result.Reason));
        Assert.Same(first, source.Current);
    }

    [Fact]
    public void AFixedPairNeverReloads()
    {
        WritePair();
        var pair = CertificateFactory.Load(Cert, Key);
        var source = ServerCertificateSource.Fixed(pair);
        WritePair();

        Assert.Equal(CertificateReloadOutcome.Unchanged, source.Reload().Outcome);
        Assert.Same(pair, source.Current);
    }
}
