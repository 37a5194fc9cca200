using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Spool;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `securemx tls next-key` and `tls rollover` (the "current + next" TLSA rollover, RFC 7671 §8.1) on a
/// real instance directory: the files they write, their refusals, a failure halfway, the retirement
/// of the next key once the served certificate carries it, and what `dns-records` prints meanwhile.
/// </summary>
public sealed class TlsKeyRolloverTests : IDisposable
{
    private const string Host = "mx.example.test";
    private const string SecureHost = "secure.example.test";
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    public TlsKeyRolloverTests()
    {
        _data = _dir.Combine("instance");
        InitCommand.Run(_data, Host, "off", "off", "off", "off", "off", null, null, null, SecureHost);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private SecureMxOptions Options => ConfigLoader.Load(_data);

    private string CertPath => Path.Combine(_data, "tls", "cert.pem");

    private string KeyPath => Path.Combine(_data, "tls", "key.pem");

    private string NextPath => NextTlsKey.KeyPath(_data);

    private NextKeyCreated NextKey(bool replace = false, string? algorithm = null, DurableFiles? files = null) =>
        TlsKeyRollover.CreateNextKey(_data, Options, replace, algorithm, files ?? DurableFiles.Default);

    private byte[] ServedSpki()
    {
        using var c = X509CertificateLoader.LoadCertificateFromFile(CertPath);
        return NextTlsKey.Spki(c);
    }

    [Fact]
    public void NextKeyIsAPrivateKeyOfTheCurrentFamilyWithACsrForTheCertificatesNames()
    {
        var made = NextKey();
        Assert.Equal(NextPath, made.KeyPath);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(NextPath));
        using var key = NextTlsKey.LoadPrivateKey(File.ReadAllText(NextPath));
        Assert.Equal(2048, Assert.IsAssignableFrom<RSA>(key).KeySize); // init makes RSA 2048
        Assert.Equal("RSA 2048", made.Algorithm);
        var spki = key.ExportSubjectPublicKeyInfo();
        Assert.NotEqual(ServedSpki(), spki);
        Assert.Equal(TlsaMatcher.DaneEeRecord(spki), made.Tlsa);
        Assert.StartsWith("3 1 1 ", made.Tlsa, StringComparison.Ordinal);

        var csr = CertificateRequest.LoadSigningRequestPem(File.ReadAllText(NextTlsKey.CsrPath(_data)), HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        Assert.Equal(spki, csr.PublicKey.ExportSubjectPublicKeyInfo());
        var names = csr.CertificateExtensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames().ToList();
        Assert.Equal([Host, SecureHost], names);
        Assert.Equal("CN=" + Host, csr.SubjectName.Name);
    }

    [Fact]
    public void AnEcdsaKeyCanBeAskedForAndAnUnknownAlgorithmWritesNothing()
    {
        var ex = Assert.Throws<CliException>(() => NextKey(algorithm: "dsa"));
        Assert.Contains("--algorithm", ex.Message);
        Assert.False(File.Exists(NextPath));

        var made = NextKey(algorithm: "ecdsa");
        using var key = NextTlsKey.LoadPrivateKey(File.ReadAllText(NextPath));
        Assert.Equal("1.2.840.10045.3.1.7", Assert.IsAssignableFrom<ECDsa>(key).ExportParameters(false).Curve.Oid.Value); // P-256
        Assert.Equal("ECDSA P-256", made.Algorithm);
    }

    [Fact]
    public void ASecondNextKeyIsRefusedAndTheFirstKeptUnlessReplaceIsGiven()
    {
        var first = NextKey();
        var before = File.ReadAllBytes(NextPath);
        var ex = Assert.Throws<CliException>(() => NextKey());
        Assert.Contains("a next key exists already", ex.Message);
        Assert.Contains(first.Tlsa, ex.Message);
        Assert.Contains("--replace", ex.Message);
        Assert.Equal(before, File.ReadAllBytes(NextPath));

        var second = NextKey(replace: true);
        Assert.NotEqual(first.Tlsa, second.Tlsa);
        Assert.NotEqual(before, File.ReadAllBytes(NextPath));
    }

    [Fact]
    public void AGarbageNextKeyIsReportedAndKeptUnlessReplaced()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(NextPath)!);
        File.WriteAllText(NextPath, "not a key");
        var ex = Assert.Throws<CliException>(() => NextKey());
        Assert.Contains("not a readable key", ex.Message);
        Assert.Equal("not a key", File.ReadAllText(NextPath));
        NextKey(replace: true);
        Assert.NotNull(NextTlsKey.TryReadSpki(_data));
    }

    [Fact]
    public void AFailedCsrWriteLeavesNeitherKeyNorCsr()
    {
        var faults = new StorageFaultPlan();
        faults.Fail(DurableStep.Rename, Errno.ENOSPC, p => p.EndsWith("next-key.csr", StringComparison.Ordinal));
        Assert.ThrowsAny<IOException>(() => NextKey(files: new DurableFiles(faults)));
        Assert.Equal(["cert.pem", "key.pem"], Directory.GetFiles(Path.Combine(_data, "tls")).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void RolloverOfASelfSignedInstanceServesTheNextKeyWithANewCertificateAndRetiresIt()
    {
        var made = NextKey();
        var nextPem = File.ReadAllText(NextPath);
        var oldTlsa = TlsaMatcher.DaneEeRecord(ServedSpki());

        var done = TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, DurableFiles.Default);

        Assert.True(done.SelfSigned);
        Assert.Equal((made.Tlsa, oldTlsa), (done.Tlsa, done.OldTlsa));
        Assert.Equal(TlsaMatcher.DaneEeRecord(ServedSpki()), made.Tlsa);
        Assert.Equal(nextPem, File.ReadAllText(KeyPath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(KeyPath));
        Assert.False(File.Exists(NextPath));
        Assert.False(File.Exists(NextTlsKey.CsrPath(_data)));
        // The pair the server loads at its start.
        using var loaded = CertificateFactory.Load(CertPath, KeyPath).Certificate;
        Assert.Equal([Host, SecureHost], loaded.Extensions.OfType<X509SubjectAlternativeNameExtension>().Single().EnumerateDnsNames());
        Assert.True(loaded.NotAfter > DateTime.UtcNow.AddYears(1));
    }

    [Fact]
    public void RolloverAfterTheCertificateWasInstalledOnlyRetiresTheNextKey()
    {
        NextKey();
        TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, DurableFiles.Default);
        // As if the run had stopped before its last step: the next key back in place, the certificate carrying it.
        File.Copy(KeyPath, NextPath);
        var cert = File.ReadAllBytes(CertPath);
        var done = TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, DurableFiles.Default);
        Assert.Null(done.OldTlsa);
        Assert.Equal(cert, File.ReadAllBytes(CertPath)); // no second new certificate
        Assert.False(File.Exists(NextPath));
    }

    [Fact]
    public void AHugeCertificateFileIsRefusedUnread()
    {
        var huge = _dir.Combine("huge.pem");
        using (var f = File.Create(huge)) f.SetLength(IssuedCertificate.MaxBytes + 1);
        var ex = Assert.Throws<CliException>(() => IssuedCertificate.Read(huge));
        Assert.Contains("not a certificate chain", ex.Message);
        Assert.Contains("--cert", Assert.Throws<CliException>(() => IssuedCertificate.Read(_dir.Combine("missing.pem"))).Message);
    }

    [Fact]
    public void RolloverWithoutANextKeyIsRefusedAndChangesNothing()
    {
        var cert = File.ReadAllBytes(CertPath);
        var ex = Assert.Throws<CliException>(() => TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, DurableFiles.Default));
        Assert.Contains("there is no next key", ex.Message);
        Assert.Contains("tls next-key", ex.Message);
        Assert.Equal(cert, File.ReadAllBytes(CertPath));
    }

    [Fact]
    public void ARolloverThatFailsHalfwayKeepsTheNextKeyAndFinishesWhenRunAgain()
    {
        var made = NextKey();
        var faults = new StorageFaultPlan();
        faults.Fail(DurableStep.Rename, Errno.ENOSPC, p => p == CertPath);
        var ex = Assert.Throws<CliException>(() => TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, new DurableFiles(faults)));
        Assert.Contains("run the rollover again", ex.Message);
        Assert.True(File.Exists(NextPath));

        TlsKeyRollover.Rollover(_data, Options, null, TimeProvider.System, DurableFiles.Default);
        Assert.Equal(made.Tlsa, TlsaMatcher.DaneEeRecord(ServedSpki()));
        Assert.False(File.Exists(NextPath));
    }

    /// <summary>An instance on a CA's certificate (init --cert/--key), the CA at hand to sign the next key's CSR.</summary>
    private (string Dir, TestCertificate Ca) CaInstance()
    {
        var issued = TestCertificates.IssuedByPrivateCa(Host);
        var files = issued.WritePem(_dir.Combine("ca-issued"));
        var dir = _dir.Combine("ca-instance");
        InitCommand.Run(dir, Host, "off", "off", "off", "off", "off", null, files.CertFile, files.KeyFile);
        return (dir, issued);
    }

    private static string Issue(TestCertificate ca, string csrFile)
    {
        var request = CertificateRequest.LoadSigningRequestPem(File.ReadAllText(csrFile), HashAlgorithmName.SHA256, CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions);
        var now = DateTimeOffset.UtcNow;
        using var leaf = request.Create(ca.Ca!, now.AddDays(-1), now.AddDays(90), RandomNumberGenerator.GetBytes(12));
        return leaf.ExportCertificatePem() + "\n" + ca.Ca!.ExportCertificatePem() + "\n";
    }

    [Fact]
    public void ACaCertificateIsRolledOverOnlyWithACertificateIssuedForTheNextKey()
    {
        var (dir, ca) = CaInstance();
        var options = ConfigLoader.Load(dir);
        var made = TlsKeyRollover.CreateNextKey(dir, options, false, null, DurableFiles.Default);
        Assert.Equal("ECDSA P-256", made.Algorithm); // the family of the CA-issued key

        var selfSigned = Assert.Throws<CliException>(() => TlsKeyRollover.Rollover(dir, options, null, TimeProvider.System, DurableFiles.Default));
        Assert.Contains("pass --cert FILE", selfSigned.Message);

        var otherKey = _dir.Combine("other.pem");
        File.WriteAllText(otherKey, TestCertificates.IssuedByPrivateCa(Host).ChainPem);
        var wrong = Assert.Throws<CliException>(() => TlsKeyRollover.Rollover(dir, options, IssuedCertificate.Read(otherKey), TimeProvider.System, DurableFiles.Default));
        Assert.Contains("is not for the next key", wrong.Message);
        Assert.True(File.Exists(NextTlsKey.KeyPath(dir)));

        var issued = _dir.Combine("issued.pem");
        File.WriteAllText(issued, Issue(ca, made.CsrPath));
        var withKey = _dir.Combine("issued-with-key.pem");
        File.WriteAllText(withKey, File.ReadAllText(issued) + File.ReadAllText(made.KeyPath));
        var leak = Assert.Throws<CliException>(() => TlsKeyRollover.Rollover(dir, options, IssuedCertificate.Read(withKey), TimeProvider.System, DurableFiles.Default));
        Assert.Contains("holds a private key", leak.Message);

        var done = TlsKeyRollover.Rollover(dir, options, IssuedCertificate.Read(issued), TimeProvider.System, DurableFiles.Default);
        Assert.False(done.SelfSigned);
        Assert.Equal(File.ReadAllText(issued), File.ReadAllText(options.Tls.Certificate)); // the chain as issued, where tls.certificate points
        using var loaded = CertificateFactory.Load(options.Tls.Certificate, options.Tls.Key).Certificate;
        Assert.Equal(made.Tlsa, TlsaMatcher.DaneEeRecord(loaded));
        Assert.False(File.Exists(NextTlsKey.KeyPath(dir)));
    }

    [Fact]
    public void TheNextKeyIsRetiredAtTheServersStartOnlyOnceTheCertificateCarriesIt()
    {
        NextKey();
        Assert.Null(TlsKeyRollover.RetireAtStart(_data, Options));
        Assert.True(File.Exists(NextPath));

        // What a deploy hook does after certbot certonly --csr: the issued certificate and the next key into place.
        using (var key = NextTlsKey.LoadPrivateKey(File.ReadAllText(NextPath)))
        using (var cert = new CertificateRequest("CN=" + Host, (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1)))
        {
            File.WriteAllText(CertPath, cert.ExportCertificatePem());
            File.Copy(NextPath, KeyPath, overwrite: true);
        }
        Assert.Contains("retired " + NextTlsKey.KeyFile, TlsKeyRollover.RetireAtStart(_data, Options));
        Assert.False(File.Exists(NextPath));
        Assert.False(File.Exists(NextTlsKey.CsrPath(_data)));
        Assert.Null(TlsKeyRollover.RetireAtStart(_data, Options)); // nothing left to retire
    }

    [Fact]
    public void AGarbageNextKeyIsNeverRetiredAndDoesNotStopTheStart()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(NextPath)!);
        File.WriteAllText(NextPath, "garbage");
        Assert.Null(TlsKeyRollover.RetireAtStart(_data, Options));
        Assert.Equal("garbage", File.ReadAllText(NextPath));
    }

    private string[] DnsRecordLines()
    {
        using var cert = X509CertificateLoader.LoadCertificateFromFile(CertPath);
        return DnsRecordsCommand.TlsaRecords(_data, SecureHost, cert).ToArray();
    }

    [Fact]
    public void DnsRecordsPrintsTheCurrentKeyAloneAndThenBothEachLabelled()
    {
        var current = $"_25._tcp.{SecureHost}.\tIN\tTLSA\t{TlsaMatcher.DaneEeRecord(ServedSpki())}";
        var alone = DnsRecordLines();
        Assert.Equal(current, Assert.Single(alone, l => !l.StartsWith(';')));
        Assert.StartsWith("; current key", alone[0], StringComparison.Ordinal);

        var made = NextKey();
        var both = DnsRecordLines();
        Assert.Equal([current, $"_25._tcp.{SecureHost}.\tIN\tTLSA\t{made.Tlsa}"], both.Where(l => !l.StartsWith(';')));
        Assert.StartsWith("; current key", both[0], StringComparison.Ordinal);
        Assert.StartsWith("; next key (" + NextTlsKey.KeyFile, both[2], StringComparison.Ordinal);
        Assert.Contains("RFC 7671 §8.1", both[2]);
    }

    [Fact]
    public void DnsRecordsNamesAnUnreadableNextKeyAndStillPrintsTheCurrentOne()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(NextPath)!);
        File.WriteAllText(NextPath, "garbage");
        var lines = DnsRecordLines();
        Assert.Single(lines, l => !l.StartsWith(';'));
        Assert.Contains(lines, l => l.StartsWith("; next key: " + NextTlsKey.KeyFile + " is not readable", StringComparison.Ordinal));
    }
}
