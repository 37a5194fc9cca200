using Microsoft.Extensions.Time.Testing;
using SecureMx.Cli;
using SecureMx.Config;
using SecureMx.Store;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Cli;

/// <summary>
/// `policy mta-sts DOMAIN enforce`: refused, with nothing stored and the reason per MX name, unless the
/// certificate (tls.certificate) is valid by PKIX for every listed MX name at the command's clock, or --force.
/// </summary>
public sealed class PolicyMtaStsCommandTests : IDisposable
{
    private const string Domain = "example.org";
    private readonly TempDirectory _dir = new();
    private readonly string _data;

    public PolicyMtaStsCommandTests()
    {
        _data = _dir.Combine("instance");
        // init's self-signed certificate for mx.example.test; listeners off: the policy lists that one name.
        InitCommand.Run(_data, "mx.example.test", "off", "off", "off", "off", "off", null, null, null);
        var store = CliOptions.OpenStore(_data);
        new MailboxRepository(store, TimeProvider.System).AddDomain(Domain);
        store.ReleasePooledConnections();
    }

    public void Dispose() => _dir.Dispose();

    private TlsPolicyRepository Policies() => new(CliOptions.OpenStoreForReading(_data), TimeProvider.System);

    private string? Mode() => Policies().DomainMtaSts(Domain)?.MtaStsMode;

    private (int Exit, string Output) Set(string mode, bool force = false, TimeProvider? time = null)
    {
        var output = new StringWriter();
        var exit = PolicyCommands.SetMtaSts(_data, Domain, mode, force, time ?? TimeProvider.System, output);
        return (exit, output.ToString());
    }

    /// <summary>Replaces tls.certificate with one from a private CA the instance trusts (delivery.trustAnchorsFile).</summary>
    private void InstallTrustedCertificate(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var certificate = TestCertificates.IssuedByPrivateCa("mx.example.test", notBefore: notBefore, notAfter: notAfter);
        certificate.WritePem(Path.Combine(_data, "tls"), "issued");
        var options = ConfigLoader.Load(_data);
        options.Tls.Certificate = "tls/issued.pem";
        options.Tls.Key = "tls/issued.key";
        options.Delivery.TrustAnchorsFile = "tls/issued-ca.pem";
        File.WriteAllBytes(Path.Combine(_data, ConfigLoader.FileName), ConfigLoader.Serialize(options));
    }

    [Fact]
    public void EnforceWithInitsSelfSignedCertificateIsRefusedNamingTheMxAndStoresNothing()
    {
        var error = Assert.Throws<CliException>(() => Set("enforce"));
        Assert.Contains($"MTA-STS of {Domain} stays none", error.Message);
        Assert.Contains("MX mx.example.test: certificate not trusted", error.Message);
        Assert.Contains("--force", error.Message);
        Assert.Equal("none", Mode());
        Assert.Empty(Policies().PolicyAudit(Domain));
    }

    [Fact]
    public void ForceSwitchesToEnforceAnywayAndWarnsPerMx()
    {
        var (exit, output) = Set("enforce", force: true);
        Assert.Equal(0, exit);
        Assert.Equal("enforce", Mode());
        Assert.Contains($"MTA-STS of {Domain}: none -> enforce", output);
        Assert.Contains("warning: MX mx.example.test: certificate not trusted", output);
    }

    [Fact]
    public void TestingNeedsNoValidCertificate()
    {
        Assert.Equal(0, Set("testing").Exit);
        Assert.Equal("testing", Mode());
    }

    [Fact]
    public void ACertificateValidAtTheCommandsClockIsEnforcedWithoutForce()
    {
        // Valid only from ten days on: refused now, accepted on a clock twenty days ahead (the check and the audit use the clock given).
        var now = DateTimeOffset.UtcNow;
        InstallTrustedCertificate(now.AddDays(10), now.AddDays(100));
        var notYet = Assert.Throws<CliException>(() => Set("enforce"));
        Assert.Contains("expired or not yet valid", notYet.Message);
        Assert.Equal("none", Mode());

        var later = new FakeTimeProvider(now.AddDays(20));
        var (exit, output) = Set("enforce", time: later);
        Assert.Equal(0, exit);
        Assert.Equal("enforce", Mode());
        Assert.Contains("  MX mx.example.test: certificate verified (PKIX) for mx.example.test", output);
        Assert.DoesNotContain("warning:", output);
        Assert.Equal(later.GetUtcNow().ToUnixTimeMilliseconds(), Policies().PolicyAudit(Domain, 1).Single().At.ToUnixTimeMilliseconds());
    }
}
