using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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

    private static X509Certificate2 Authority(string name, X509Certificate2? issuer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        if (issuer is null) return request.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        using var signed = request.Create(issuer, now.AddDays(-1), now.AddYears(1), [1, 2, 3, 4]);
        return signed.CopyWithPrivateKey(key);
    }

    [Fact]
    public void AnIntermediateAddedToTheSameLeafIsANewPairNotNoChange()
    {
        // A deploy that fixes the chain (the intermediate was missing) keeps the leaf and the key.
        using var root = Authority("Test Root");
        using var intermediate = Authority("Test Intermediate", root);
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=mx.example.test", leafKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        var now = DateTimeOffset.UtcNow;
        using var leaf = request.Create(intermediate, now.AddDays(-1), now.AddDays(90), [5, 6, 7, 8]);
        File.WriteAllText(Cert, leaf.ExportCertificatePem());
        File.WriteAllText(Key, leafKey.ExportPkcs8PrivateKeyPem());
        var source = ServerCertificateSource.Load(Cert, Key);
        var first = source.Current!;

        File.WriteAllText(Cert, leaf.ExportCertificatePem() + "\n" + intermediate.ExportCertificatePem() + "\n");
        var fixedChain = source.Reload();

        Assert.True(fixedChain.Outcome == CertificateReloadOutcome.Swapped, $"{fixedChain.Outcome}: {fixedChain.Reason}");
        Assert.Same(first, fixedChain.Previous);
        Assert.Contains(source.Current!.Context.IntermediateCertificates, c => c.Thumbprint == intermediate.Thumbprint);
        Assert.Equal(CertificateReloadOutcome.Unchanged, source.Reload().Outcome); // the same chain again is no change
        Assert.True(first.Certificate.HasPrivateKey); // the pair sessions may hold stays usable
    }
}
