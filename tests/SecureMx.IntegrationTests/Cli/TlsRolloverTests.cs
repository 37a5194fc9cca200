using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SecureMx.Dashboard;
using SecureMx.Dns;
using SecureMx.IntegrationTests.Dns;
using SecureMx.IntegrationTests.Inbound;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;
using SecureMx.Tls;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>
/// The "current + next" TLSA rollover (RFC 7671 §8.1) end to end: the records a real instance's
/// <c>tls next-key</c> and <c>dns-records</c> print are published in the test bed's signed zone
/// rollover.test under four host names (the current key's alone, both, the next key's alone, another
/// key's), and the dashboard's DNS check judges each through the validating resolver (unbound over
/// knot); then <c>tls rollover</c> makes the next key current.
/// </summary>
public sealed class TlsRolloverTests
{
    private const string Domain = "example.test";

    private static string TlsaData(string line) => line[(line.IndexOf("\tTLSA\t", StringComparison.Ordinal) + "\tTLSA\t".Length)..];

    private static string[] TlsaLines(ProcessResult dnsRecords) =>
        dnsRecords.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).Where(l => !l.StartsWith(';') && l.Contains("\tTLSA\t", StringComparison.Ordinal)).ToArray();

    [Fact]
    public async Task TheCheckTellsCurrentNextAndNeitherApartInRealDnsAndTheRolloverSwitchesKeys()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var mx = await SecureMxInstance.CreateAsync(Domain, secureMxHostname: "securemx.rollover.test");

        var next = await mx.Cli("tls", "next-key");
        Assert.True(next.ExitCode == 0, next.All);
        var nextKeyPath = NextTlsKey.KeyPath(mx.DataDir);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(nextKeyPath));
        Assert.True(File.Exists(NextTlsKey.CsrPath(mx.DataDir)));
        var again = await mx.Cli("tls", "next-key");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("a next key exists already", again.StdErr);

        var records = await mx.Cli("dns-records", Domain);
        Assert.True(records.ExitCode == 0, records.All);
        var tlsa = TlsaLines(records);
        Assert.Equal(2, tlsa.Length);
        var (current, nextRecord) = (TlsaData(tlsa[0]), TlsaData(tlsa[1]));
        Assert.Contains(tlsa[1], next.StdOut); // next-key printed the record dns-records lists second
        Assert.Contains("; next key (" + NextTlsKey.KeyFile, records.StdOut);
        var foreign = TestCertificates.SelfSigned("securemx.rollover.test").TlsaDaneEe;

        await using var bed = await DnsTestBed.StartAsync(["127.0.61", "127.0.62", "127.0.63"], records:
        [
            $"_25._tcp.current.rollover.test. TLSA {current}",
            $"_25._tcp.both.rollover.test. TLSA {current}",
            $"_25._tcp.both.rollover.test. TLSA {nextRecord}",
            $"_25._tcp.next.rollover.test. TLSA {nextRecord}",
            $"_25._tcp.neither.rollover.test. TLSA {foreign}",
        ]);
        var check = new DomainDnsCheck(new MailDnsResolver(bed.Resolver, TimeSpan.FromSeconds(3)), TimeProvider.System);

        async Task<(TlsaVerdict, bool?)> JudgeAsync(string host)
        {
            using var cert = X509CertificateLoader.LoadCertificateFromFile(mx.CertificatePath);
            var r = await check.CheckAsync(Domain, host + ".rollover.test", cert, [], NextTlsKey.TryReadSpki(mx.DataDir), ct);
            Assert.True(r.TlsaReason is null || r.Tlsa != TlsaVerdict.LookupFailed, r.TlsaReason);
            return (r.Tlsa, r.NextKeyPublished);
        }

        Assert.Equal((TlsaVerdict.Matches, false), await JudgeAsync("current"));
        Assert.Equal((TlsaVerdict.Matches, true), await JudgeAsync("both"));
        Assert.Equal((TlsaVerdict.MatchesNextKeyOnly, true), await JudgeAsync("next"));
        Assert.Equal((TlsaVerdict.Mismatch, false), await JudgeAsync("neither"));

        var rollover = await mx.Cli("tls", "rollover");
        Assert.True(rollover.ExitCode == 0, rollover.All);
        Assert.Contains("remove: _25._tcp.securemx.rollover.test.\tIN\tTLSA\t" + current, rollover.StdOut);
        Assert.False(File.Exists(nextKeyPath));
        var after = TlsaLines(await mx.Cli("dns-records", Domain));
        Assert.Equal(nextRecord, TlsaData(Assert.Single(after)));

        // After the switch the name that published only the next key is the right one, and the old one is stale.
        Assert.Equal((TlsaVerdict.Matches, (bool?)null), await JudgeAsync("next"));
        Assert.Equal((TlsaVerdict.Matches, (bool?)null), await JudgeAsync("both"));
        Assert.Equal((TlsaVerdict.Mismatch, (bool?)null), await JudgeAsync("current"));

        var none = await mx.Cli("tls", "rollover");
        Assert.Equal(1, none.ExitCode);
        Assert.Contains("there is no next key", none.StdErr);
    }

    [Fact]
    public async Task ACertificateADeployHookInstalledForTheNextKeyIsServedAndRetiresTheNextKeyAtStart()
    {
        await using var mx = await SecureMxInstance.CreateAsync(Domain);
        await mx.CliOk("tls", "next-key");
        var nextKeyPath = NextTlsKey.KeyPath(mx.DataDir);
        var nextSpki = NextTlsKey.TryReadSpki(mx.DataDir)!;

        // What a deploy hook does after 'certbot certonly --csr tls/next-key.csr': the certificate and the next key into place.
        using (var key = NextTlsKey.LoadPrivateKey(File.ReadAllText(nextKeyPath)))
        {
            var now = DateTimeOffset.UtcNow;
            using var cert = new CertificateRequest("CN=" + mx.Hostname, (RSA)key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSelfSigned(now.AddDays(-1), now.AddDays(30));
            File.WriteAllText(Path.Combine(mx.DataDir, "tls", "cert.pem"), cert.ExportCertificatePem());
            File.Copy(nextKeyPath, Path.Combine(mx.DataDir, "tls", "key.pem"), overwrite: true);
        }
        Assert.True(File.Exists(nextKeyPath), "nothing retires the next key before a server starts with it");

        await mx.StartAsync();
        await mx.WaitForLogAsync("retired " + NextTlsKey.KeyFile);
        Assert.False(File.Exists(nextKeyPath));
        Assert.False(File.Exists(NextTlsKey.CsrPath(mx.DataDir)));

        await using var client = await TlsSmtpClient.ConnectAsync(mx.Mx);
        await client.CommandAsync("EHLO rollover.test");
        await client.StartTlsAsync(mx.Hostname, SslProtocols.Tls12 | SslProtocols.Tls13);
        using var served = new X509Certificate2(client.Tls!.RemoteCertificate!);
        Assert.Equal(nextSpki, NextTlsKey.Spki(served));
    }
}
