using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Dashboard;
using SecureMx.Dns;
using SecureMx.TestKit;
using SecureMx.Tests.Queue;
using SecureMx.Tls;

namespace SecureMx.Tests.Dashboard;

/// <summary>The live DNS check of the domain page: MX of the domain, its DNSSEC status, TLSA of the secure MX.</summary>
public sealed class DomainDnsCheckTests
{
    private const string Domain = "customer.test";
    private const string SecureMx = "securemx.provider.test";
    private const string TlsaName = "_25._tcp." + SecureMx;

    private static readonly X509Certificate2 Certificate = TestCertificates.SelfSigned(SecureMx).Leaf;

    private static MxResolution Mx(DnsSecurity security, params (string Host, int Preference)[] records) =>
        MxResolution.FromRecords(Domain, records, security, new Random(1));

    private static TlsaResolution SecureTlsa(params TlsaRecordData[] records) =>
        TlsaResolution.FromAnswer(TlsaName, DnsAnswer<TlsaRecordData>.Found(records, DnsSecurity.Secure));

    private static TlsaRecordData DaneEe(X509Certificate2 cert) => new(3, 1, 1, SHA256.HashData(TestCertificates.Spki(cert)));

    private static TlsaResolution MatchingTlsa() => SecureTlsa(DaneEe(Certificate));

    private static FakeMailDns Dns(MxResolution mx, Func<TlsaResolution>? tlsa = null) =>
        new(TimeProvider.System, (_, _) => mx) { Tlsa = (_, _) => (tlsa ?? MatchingTlsa)() };

    private static Task<DomainDnsCheckResult> RunAsync(IMailDnsResolver dns, X509Certificate2? cert = null, IReadOnlyList<X509Certificate2>? chain = null,
        string secureMx = SecureMx, TimeSpan? timeout = null, byte[]? nextKey = null) =>
        new DomainDnsCheck(dns, TimeProvider.System, timeout).CheckAsync(Domain, secureMx, cert ?? Certificate, chain ?? [], nextKey, TestContext.Current.CancellationToken);

    [Fact]
    public async Task AnMxThatNamesOnlyTheSecureMxIsOk()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx + ".", 10))));
        Assert.Equal((MxVerdict.OnlySecureMx, CheckLevel.Ok), (r.Mx, r.MxLevel));
        Assert.Equal([new MxHost(SecureMx, 10)], r.MxHosts);
    }

    [Fact]
    public async Task TheConfiguredHostNameIsComparedWithoutCaseOrTrailingDot()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10))), secureMx: "SecureMx.Provider.TEST.");
        Assert.Equal(MxVerdict.OnlySecureMx, r.Mx);
        Assert.Equal(SecureMx, r.SecureMxHost);
    }

    [Fact]
    public async Task TheSecureMxNextToOtherHostsIsAWarningAndListsAllHostsInPreferenceOrder()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, ("mx2.other.test", 20), (SecureMx, 10), ("mx1.other.test", 20))));
        Assert.Equal((MxVerdict.SecureMxAndOthers, CheckLevel.Warn), (r.Mx, r.MxLevel));
        Assert.Equal(["10 " + SecureMx, "20 mx1.other.test", "20 mx2.other.test"], r.MxHosts.Select(h => $"{h.Preference} {h.Name}"));
    }

    [Fact]
    public async Task AnMxWithoutTheSecureMxIsBad()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, ("mx.other.test", 10))));
        Assert.Equal((MxVerdict.NotSecureMx, CheckLevel.Bad), (r.Mx, r.MxLevel));
        Assert.Equal("mx.other.test", Assert.Single(r.MxHosts).Name);
    }

    [Fact]
    public async Task NoMxRecordIsBadBecauseSendersUseTheDomainsOwnAddress()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure)));
        Assert.Equal((MxVerdict.NoMx, CheckLevel.Bad), (r.Mx, r.MxLevel));
    }

    [Fact]
    public async Task ANullMxIsBad()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (".", 0))));
        Assert.Equal((MxVerdict.NullMx, CheckLevel.Bad), (r.Mx, r.MxLevel));
    }

    [Fact]
    public async Task NxDomainIsBad()
    {
        var r = await RunAsync(Dns(MxResolution.NoSuchDomain(Domain, DnsSecurity.Secure)));
        Assert.Equal((MxVerdict.NoSuchDomain, CheckLevel.Bad), (r.Mx, r.MxLevel));
    }

    [Fact]
    public async Task AFailedMxLookupIsBadWithItsReasonAndNoDnssecVerdict()
    {
        var r = await RunAsync(Dns(MxResolution.TemporaryFailure(Domain, "SERVFAIL")));
        Assert.Equal((MxVerdict.LookupFailed, CheckLevel.Bad, "SERVFAIL"), (r.Mx, r.MxLevel, r.MxReason));
        Assert.Null(r.MxSignedLevel);
    }

    [Fact]
    public async Task ASignedMxAnswerIsOkAndAnUnsignedOneAWarning()
    {
        var signed = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10))));
        var unsigned = await RunAsync(Dns(Mx(DnsSecurity.Insecure, (SecureMx, 10))));
        Assert.Equal(CheckLevel.Ok, signed.MxSignedLevel);
        Assert.Equal(CheckLevel.Warn, unsigned.MxSignedLevel);
        Assert.Equal(CheckLevel.Ok, unsigned.MxLevel); // the host is right, only the signature is missing
    }

    [Fact]
    public async Task ASecureTlsaRecordOfTheCertificateIsOkAndIsAskedForPort25OfTheSecureMx()
    {
        var asked = new List<(string, int)>();
        var dns = new FakeMailDns(TimeProvider.System, (_, _) => Mx(DnsSecurity.Secure, (SecureMx, 10)))
        {
            Tlsa = (host, port) => { lock (asked) asked.Add((host, port)); return MatchingTlsa(); },
        };
        var r = await RunAsync(dns);
        Assert.Equal((TlsaVerdict.Matches, CheckLevel.Ok), (r.Tlsa, r.TlsaLevel));
        Assert.Equal([(SecureMx, 25)], asked);
        Assert.Equal([TlsaMatcher.DaneEeRecord(Certificate)], r.TlsaRecords);
    }

    [Fact]
    public async Task ADaneTaRecordOfTheIssuerMatchesThroughTheCertificateChain()
    {
        var chain = TestCertificates.IssuedThroughIntermediate(SecureMx);
        var (intermediate, leaf) = (chain.Intermediate!, chain.Leaf);
        var ta = new TlsaRecordData(2, 1, 1, SHA256.HashData(TestCertificates.Spki(intermediate)));
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(ta)), leaf, [intermediate]);
        Assert.Equal(TlsaVerdict.Matches, r.Tlsa);
    }

    [Fact]
    public async Task SecurelyAbsentTlsaIsAWarning()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)),
            () => TlsaResolution.FromAnswer(TlsaName, DnsAnswer<TlsaRecordData>.NxDomain(DnsSecurity.Secure))));
        Assert.Equal((TlsaVerdict.Missing, CheckLevel.Warn), (r.Tlsa, r.TlsaLevel));
    }

    [Fact]
    public async Task AnUnsignedTlsaAnswerIsAWarningEvenWhenItsRecordsWouldMatch()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)),
            () => TlsaResolution.FromAnswer(TlsaName, DnsAnswer<TlsaRecordData>.Found([DaneEe(Certificate)], DnsSecurity.Insecure))));
        Assert.Equal((TlsaVerdict.NotSigned, CheckLevel.Warn), (r.Tlsa, r.TlsaLevel));
    }

    [Fact]
    public async Task ASecureTlsaRecordOfAnotherKeyIsBad()
    {
        var other = TestCertificates.SelfSigned(SecureMx).Leaf;
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(DaneEe(other))));
        Assert.Equal((TlsaVerdict.Mismatch, CheckLevel.Bad), (r.Tlsa, r.TlsaLevel));
        Assert.NotNull(r.TlsaReason);
    }

    // The "current + next" rollover (RFC 7671 §8.1): a next key has no certificate yet, only its SubjectPublicKeyInfo.
    private static readonly X509Certificate2 NextKeyCertificate = TestCertificates.SelfSigned(SecureMx).Leaf;

    private static byte[] NextKey => TestCertificates.Spki(NextKeyCertificate);

    [Fact]
    public async Task RecordsOfTheCurrentAndTheNextKeyAreOkAndSayTheNextKeyIsPublished()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(DaneEe(Certificate), DaneEe(NextKeyCertificate))), nextKey: NextKey);
        Assert.Equal((TlsaVerdict.Matches, CheckLevel.Ok, true), (r.Tlsa, r.TlsaLevel, r.NextKeyPublished));
    }

    [Fact]
    public async Task ARecordOfTheCurrentKeyAloneIsOkAndSaysTheNextKeyIsNotPublishedYet()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10))), nextKey: NextKey);
        Assert.Equal((TlsaVerdict.Matches, CheckLevel.Ok, false), (r.Tlsa, r.TlsaLevel, r.NextKeyPublished));
    }

    [Fact]
    public async Task WithoutANextKeyThereIsNothingToSayAboutIt()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(DaneEe(Certificate), DaneEe(NextKeyCertificate))));
        Assert.Equal((TlsaVerdict.Matches, (bool?)null), (r.Tlsa, r.NextKeyPublished));
    }

    [Fact]
    public async Task ARecordOfTheNextKeyAloneIsBadBecauseTheServedCertificateDoesNotMatchYet()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(DaneEe(NextKeyCertificate))), nextKey: NextKey);
        Assert.Equal((TlsaVerdict.MatchesNextKeyOnly, CheckLevel.Bad, true), (r.Tlsa, r.TlsaLevel, r.NextKeyPublished));
    }

    [Fact]
    public async Task TheNextKeyMatchesThroughEveryMatchingTypeOfASpkiRecord()
    {
        var full = new TlsaRecordData(3, 1, 0, NextKey);
        var sha512 = new TlsaRecordData(3, 1, 2, SHA512.HashData(NextKey));
        foreach (var record in new[] { full, sha512 })
        {
            var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(record)), nextKey: NextKey);
            Assert.Equal((TlsaVerdict.MatchesNextKeyOnly, true), (r.Tlsa, r.NextKeyPublished));
        }
    }

    [Fact]
    public async Task RecordsOfNeitherTheCurrentNorTheNextKeyAreAMismatch()
    {
        var other = TestCertificates.SelfSigned(SecureMx).Leaf;
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(DaneEe(other))), nextKey: NextKey);
        Assert.Equal((TlsaVerdict.Mismatch, CheckLevel.Bad, false), (r.Tlsa, r.TlsaLevel, r.NextKeyPublished));
    }

    [Fact]
    public async Task AnUnsignedAnswerSaysNothingAboutTheNextKey()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)),
            () => TlsaResolution.FromAnswer(TlsaName, DnsAnswer<TlsaRecordData>.Found([DaneEe(NextKeyCertificate)], DnsSecurity.Insecure))), nextKey: NextKey);
        Assert.Equal((TlsaVerdict.NotSigned, (bool?)null), (r.Tlsa, r.NextKeyPublished));
    }

    [Fact]
    public async Task OnlyUnusableTlsaRecordsDoNotMatch()
    {
        var pkixEe = new TlsaRecordData(1, 1, 1, SHA256.HashData(TestCertificates.Spki(Certificate))); // usage 1 is not for SMTP (RFC 7672 §3.1.3)
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)), () => SecureTlsa(pkixEe)));
        Assert.Equal(TlsaVerdict.Mismatch, r.Tlsa);
    }

    [Fact]
    public async Task AFailedTlsaLookupIsBadWithItsReason()
    {
        var r = await RunAsync(Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)),
            () => TlsaResolution.FromAnswer(TlsaName, DnsAnswer<TlsaRecordData>.Fail("SERVFAIL"))));
        Assert.Equal((TlsaVerdict.LookupFailed, CheckLevel.Bad, "SERVFAIL"), (r.Tlsa, r.TlsaLevel, r.TlsaReason));
    }

    [Fact]
    public async Task WithoutACertificateSecureTlsaRecordsCannotBeCompared()
    {
        var dns = Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)));
        var r = await new DomainDnsCheck(dns, TimeProvider.System).CheckAsync(Domain, SecureMx, null, [], null, TestContext.Current.CancellationToken);
        Assert.Equal((TlsaVerdict.NoCertificate, CheckLevel.Warn), (r.Tlsa, r.TlsaLevel));
    }

    [Fact]
    public async Task AResolverThatDoesNotAnswerEndsTheCheckAtTheTimeout()
    {
        var dns = Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)));
        dns.Hold = new TaskCompletionSource().Task;
        var watch = Stopwatch.StartNew();
        var r = await RunAsync(dns, timeout: TimeSpan.FromMilliseconds(200));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal((MxVerdict.TimedOut, CheckLevel.Bad, TlsaVerdict.TimedOut, CheckLevel.Bad), (r.Mx, r.MxLevel, r.Tlsa, r.TlsaLevel));
        Assert.Null(r.MxSignedLevel);
    }

    [Fact]
    public async Task TheRequestBeingAbortedCancelsTheCheck()
    {
        var dns = Dns(Mx(DnsSecurity.Secure, (SecureMx, 10)));
        dns.Hold = new TaskCompletionSource().Task;
        using var abort = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            new DomainDnsCheck(dns, TimeProvider.System).CheckAsync(Domain, SecureMx, Certificate, [], null, abort.Token));
    }
}
