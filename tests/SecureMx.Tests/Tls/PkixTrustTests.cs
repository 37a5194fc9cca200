using System.Security.Cryptography.X509Certificates;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Tls;

/// <summary>
/// PKIX validation for a host name (RFC 5280 path, RFC 6125 name) with the system's CAs and the extra
/// anchors of delivery.trustAnchorsFile: what MTA-STS asks of the policy host and the MX hosts.
/// </summary>
public sealed class PkixTrustTests
{
    private static DateTimeOffset Now => DateTimeOffset.UtcNow;

    [Fact]
    public void ALeafOfAPrivateCaIsValidWhenTheCaIsAnExtraAnchor()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org");
        var verdict = new PkixTrust([cert.Ca!]).Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.True(verdict.Valid, verdict.Detail);
        Assert.Contains("verified (PKIX) for mta-sts.example.org", verdict.Detail);
    }

    [Fact]
    public void TheSameLeafIsNotTrustedWithTheSystemCasAlone()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org");
        var verdict = PkixTrust.SystemOnly.Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.False(verdict.Valid);
        Assert.StartsWith("certificate not trusted:", verdict.Detail);
    }

    [Fact]
    public void ALeafOfAnotherPrivateCaIsNotTrusted()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org", caName: "Some Other CA");
        using var anchor = TestCertificates.IssuedByPrivateCa("x.example.org");
        var verdict = new PkixTrust([anchor.Ca!]).Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.False(verdict.Valid);
        Assert.StartsWith("certificate not trusted:", verdict.Detail);
    }

    [Fact]
    public void ASelfSignedLeafIsNotTrusted()
    {
        using var cert = TestCertificates.SelfSigned("mta-sts.example.org");
        var verdict = PkixTrust.SystemOnly.Validate(cert.Leaf, [], "mta-sts.example.org", Now);
        Assert.Equal(PkixFailure.NotTrusted, verdict.Failure);
        Assert.Contains("untrusted root", verdict.Detail);
    }

    [Fact]
    public void AnExpiredLeafIsNotTrusted()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org", notBefore: Now.AddDays(-30), notAfter: Now.AddDays(-1));
        var verdict = new PkixTrust([cert.Ca!]).Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.Equal(PkixFailure.Expired, verdict.Failure);
        Assert.Contains("expired or not yet valid", verdict.Detail);
    }

    [Fact]
    public void ValidityIsCheckedAtTheTimeGiven()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org");
        var trust = new PkixTrust([cert.Ca!]);
        Assert.True(trust.Validate(cert.Leaf, [], "mta-sts.example.org", Now).Valid);
        Assert.Contains("expired or not yet valid", trust.Validate(cert.Leaf, [], "mta-sts.example.org", Now.AddYears(2)).Detail);
    }

    [Fact]
    public void ALeafForAnotherNameIsRefusedWithTheNamesItHas()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("www.example.org");
        var verdict = new PkixTrust([cert.Ca!]).Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.Equal(PkixFailure.NameMismatch, verdict.Failure);
        Assert.Equal("certificate is not for mta-sts.example.org (names: www.example.org)", verdict.Detail);
    }

    [Theory]
    [InlineData("mta-sts.example.org", true)]
    [InlineData("MX1.Example.Org.", true)]
    [InlineData("example.org", false)]
    [InlineData("a.mta-sts.example.org", false)]
    public void AWildcardCoversExactlyTheLeftmostLabel(string host, bool valid)
    {
        using var cert = TestCertificates.IssuedByPrivateCa("*.example.org");
        Assert.Equal(valid, new PkixTrust([cert.Ca!]).Validate(cert.Leaf, [cert.Leaf], host, Now).Valid);
    }

    [Fact]
    public void AnIntermediateThePeerSendsCompletesThePath()
    {
        using var cert = TestCertificates.IssuedThroughIntermediate("mta-sts.example.org");
        var trust = new PkixTrust([cert.Ca!]);
        Assert.True(trust.Validate(cert.Leaf, [cert.Leaf, cert.Intermediate!], "mta-sts.example.org", Now).Valid);
        var without = trust.Validate(cert.Leaf, [cert.Leaf], "mta-sts.example.org", Now);
        Assert.False(without.Valid);
        Assert.StartsWith("certificate not trusted:", without.Detail);
    }

    [Fact]
    public async Task AMissingIntermediateIsNotFetchedFromTheAddressTheLeafNames()
    {
        // A loopback HTTP server that would hand out the intermediate the leaf's AIA names: .NET's chain
        // builder fetches it unless downloads are off, and the path would then verify.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        using var cert = TestCertificates.IssuedThroughIntermediate("mx.example.org", caIssuers: new Uri($"http://127.0.0.1:{port}/issuer.cer"));
        int requests = 0;
        using var stop = new CancellationTokenSource();
        var serving = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var client = await listener.AcceptTcpClientAsync(stop.Token);
                Interlocked.Increment(ref requests);
                var stream = client.GetStream();
                _ = await stream.ReadAsync(new byte[4096], stop.Token); // the request: any will do
                var body = cert.Intermediate!.RawData;
                await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 200 OK\r\nContent-Type: application/pkix-cert\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"), stop.Token);
                await stream.WriteAsync(body, stop.Token);
            }
        });

        var verdict = new PkixTrust([cert.Ca!]).Validate(cert.Leaf, [cert.Leaf], "mx.example.org", Now);

        Assert.Equal(PkixFailure.NotTrusted, verdict.Failure);
        Assert.Equal(0, Volatile.Read(ref requests));
        await stop.CancelAsync();
        try
        {
            await serving;
        }
        catch (OperationCanceledException)
        {
            // the accept loop ends with the test
        }
    }

    [Fact]
    public void TheHandshakesChainPolicyDownloadsNothingAndChecksNoRevocation()
    {
        var policy = PkixTrust.HandshakeChainPolicy();
        Assert.True(policy.DisableCertificateDownloads);
        Assert.Equal(X509RevocationMode.NoCheck, policy.RevocationMode);
    }

    [Fact]
    public void AnExpiredLeafOfAnUntrustedCaIsExpiredFirst()
    {
        using var cert = TestCertificates.IssuedByPrivateCa("mta-sts.example.org", notBefore: Now.AddDays(-30), notAfter: Now.AddDays(-1));
        var verdict = PkixTrust.SystemOnly.Validate(cert.Leaf, [], "mta-sts.example.org", Now);
        Assert.Equal(PkixFailure.Expired, verdict.Failure);
        Assert.False(verdict.Valid);
    }

    [Fact]
    public void AHandshakeWithoutCertificateIsNoCertificate()
    {
        var verdict = PkixTrust.SystemOnly.Validate(certificate: null, chain: null, "mx.example.org", Now);
        Assert.Equal((PkixFailure.NoCertificate, "the server sent no certificate"), (verdict.Failure, verdict.Detail));
    }

    [Fact]
    public void AHandshakeIsJudgedWithTheIntermediatesOfItsPresentedChain()
    {
        using var cert = TestCertificates.IssuedThroughIntermediate("mx.example.org");
        var trust = new PkixTrust([cert.Ca!]);
        // What SslStream hands the callback: the certificate as X509Certificate, the server's intermediates in the chain's extra store.
        using var presented = new X509Chain();
        presented.ChainPolicy.ExtraStore.Add(cert.Intermediate!);
        using var asSent = X509CertificateLoader.LoadCertificate(cert.Leaf.RawData);
        X509Certificate plain = asSent;
        Assert.True(trust.Validate(plain, presented, "mx.example.org", Now).Valid);
        using var none = new X509Chain();
        Assert.Equal(PkixFailure.NotTrusted, trust.Validate(plain, none, "mx.example.org", Now).Failure);
        Assert.Equal(PkixFailure.NameMismatch, trust.Validate(plain, presented, "mx.other.test", Now).Failure);
    }

    [Fact]
    public void LoadReadsEveryCertificateOfThePemFile()
    {
        using var dir = new TempDirectory();
        using var one = TestCertificates.IssuedByPrivateCa("a.example.org", caName: "CA One");
        using var two = TestCertificates.IssuedByPrivateCa("b.example.org", caName: "CA Two");
        var file = Path.Combine(dir.Path, "anchors.pem");
        File.WriteAllText(file, one.Ca!.ExportCertificatePem() + "\n" + two.Ca!.ExportCertificatePem() + "\n");
        var trust = PkixTrust.Load(file);
        Assert.Equal(2, trust.ExtraAnchors.Count);
        Assert.True(trust.Validate(two.Leaf, [], "b.example.org", Now).Valid);
        Assert.Same(PkixTrust.SystemOnly, PkixTrust.Load(""));
    }

    [Fact]
    public void AMissingOrEmptyAnchorsFileIsAnErrorNamingTheKey()
    {
        using var dir = new TempDirectory();
        var missing = Path.Combine(dir.Path, "none.pem");
        Assert.Contains("delivery.trustAnchorsFile", Assert.Throws<InvalidOperationException>(() => PkixTrust.Load(missing)).Message);
        var empty = Path.Combine(dir.Path, "empty.pem");
        File.WriteAllText(empty, "no certificate here\n");
        Assert.Contains("no certificate in the file", Assert.Throws<InvalidOperationException>(() => PkixTrust.Load(empty)).Message);
    }
}
