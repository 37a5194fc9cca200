using System.Text;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Inbound;

/// <summary>
/// Authentication-Results on the same provider set-up (its fixture publishes SPF, DMARC and a DKIM key in
/// the DNSSEC test bed): what a real Postfix sends, and what an independent DKIM signer (dkimpy) signed.
/// </summary>
public sealed partial class InboundMandatoryTlsTests
{
    [Fact]
    public async Task PostfixMailFromAnAuthorizedAddressGetsSpfAndDmarcPassInTheMailbox()
    {
        var token = Guid.NewGuid().ToString("N");
        var sender = InboundTlsFixture.SenderHostname;
        await f.Sender.InjectAsync("postmaster@" + sender, $"user@{Secure}", token);
        var (trace, _) = SecureMxInstance.SplitDelivered(await f.Mx.WaitForMessageAsync($"user@{Secure}", token, Wait));
        Note(trace);
        // Postfix delivered over the secure MX: its host name is the authserv-id.
        Assert.Contains(
            $"Authentication-Results: {InboundTlsFixture.SecureMxHostname};\r\n" +
            $"\tspf=pass smtp.mailfrom=postmaster@{sender};\r\n" +
            "\tdkim=none;\r\n" +
            $"\tdmarc=pass (p=reject dis=none) header.from={sender}\r\n", trace);
        await f.Mx.WaitForLogAsync("spf=pass dkim=none dmarc=pass");
    }

    [Fact]
    public async Task AMessageSignedByDkimpyVerifiesAndAForgedResultWithOurNameIsRemoved()
    {
        Assert.True(File.Exists("/usr/bin/python3"), "/usr/bin/python3 is missing: run scripts/install-test-deps.sh (python3-dkim)");
        var token = Guid.NewGuid().ToString("N");
        var domain = InboundTlsFixture.SignerDomain;
        var path = Path.Combine(Path.GetTempPath(), $"securemx-signed-{token}.eml");
        // Authentication-Results is not signed: the forged one goes, the signature still verifies downstream.
        await File.WriteAllTextAsync(path,
            $"From: alice@{domain}\nTo: user@{Open}\nSubject: signed {token}\nMessage-ID: <{token}@{domain}>\n" +
            $"Authentication-Results: {InboundTlsFixture.Hostname}; dkim=pass header.d=forged-{token}.example\n" +
            $"\nbody {token}\n", TestContext.Current.CancellationToken);
        var seed = Convert.ToBase64String(((Org.BouncyCastle.Crypto.Parameters.Ed25519PrivateKeyParameters)f.SignerKey.Private).GetEncoded());
        const string sign = """
            import sys, dkim
            path, selector, domain, key = sys.argv[1:5]
            msg = open(path, 'rb').read()
            sig = dkim.sign(msg, selector.encode(), domain.encode(), key.encode(), signature_algorithm=b'ed25519-sha256',
                            include_headers=[b'from', b'to', b'subject', b'message-id'], linesep=b'\n')
            open(path, 'wb').write(sig + msg)
            """;
        var signed = await Run.ProcessAsync("/usr/bin/python3", ["-c", sign, path, InboundTlsFixture.SignerSelector, domain, seed], timeout: TimeSpan.FromSeconds(30));
        Assert.True(signed.ExitCode == 0, "dkimpy could not sign (python3-dkim installed?): " + signed.All);

        var sent = await File.ReadAllBytesAsync(path, TestContext.Current.CancellationToken);
        var swaks = await Run.ProcessAsync("swaks", ["--server", $"{f.OrdinaryMx.Address}:25", "--from", $"bounce@{domain}", "--to", $"user@{Open}",
            "--helo", "client.test", "--data", "@" + path, "--timeout", "30"], timeout: TimeSpan.FromSeconds(60));
        File.Delete(path);
        Assert.True(swaks.ExitCode == 0, swaks.All);
        Assert.NotEmpty(sent);
        var delivered = Encoding.UTF8.GetString(await f.Mx.WaitForMessageAsync($"user@{Open}", token, Wait));
        Note(delivered);
        Assert.Contains(
            $"Authentication-Results: {InboundTlsFixture.Hostname};\r\n" +
            $"\tspf=fail smtp.mailfrom=bounce@{domain};\r\n" +
            $"\tdkim=pass header.d={domain} header.s={InboundTlsFixture.SignerSelector};\r\n" +
            $"\tdmarc=pass (p=reject dis=none) header.from={domain}\r\n", delivered);
        Assert.DoesNotContain($"forged-{token}", delivered);
        Assert.Contains("DKIM-Signature: ", delivered);
    }
    private async Task<ProcessResult> SwaksAsync(string from, string to, string token) =>
        await Run.ProcessAsync("swaks", ["--server", $"{f.OrdinaryMx.Address}:25", "--from", from, "--to", to, "--helo", "client.test",
            "--header", $"Subject: auth {token}", "--timeout", "30"], timeout: TimeSpan.FromSeconds(60));

    [Theory]
    [InlineData(InboundTlsFixture.SoftFailDomain, "spf=softfail", "dmarc=none header.from=" + InboundTlsFixture.SoftFailDomain)]
    [InlineData(InboundTlsFixture.ForgedDomain, "spf=fail", "dmarc=fail (p=reject dis=reject) header.from=" + InboundTlsFixture.ForgedDomain)]
    [InlineData("nothing-published.test", "spf=none", "dmarc=none header.from=nothing-published.test")]
    public async Task WithoutEnforcementEveryResultIsDeliveredAndReported(string domain, string spf, string dmarc)
    {
        var token = Guid.NewGuid().ToString("N");
        var swaks = await SwaksAsync($"someone@{domain}", $"user@{Open}", token);
        Assert.True(swaks.ExitCode == 0, swaks.All);
        var (trace, _) = SecureMxInstance.SplitDelivered(await f.Mx.WaitForMessageAsync($"user@{Open}", token, Wait));
        Assert.Contains($"\t{spf} smtp.mailfrom=someone@{domain};\r\n\tdkim=none;\r\n\t{dmarc}\r\n", trace);
    }

    [Fact]
    public async Task ADomainThatEnforcesDmarcRefusesAPRejectFailureWith550()
    {
        const string domain = "dmarc-enforced.test";
        await f.Mx.CliOk("domain", "add", domain);
        var add = await Run.SecureMxWithStdinAsync("password123\n", "mailbox", "add", "user@" + domain, "--password-stdin", "--data", f.Mx.DataDir);
        Assert.True(add.ExitCode == 0, add.All);
        await f.Mx.CliOk("policy", "dmarc", domain, "enforce");
        Assert.Contains("  dmarc:    enforce (", (await f.Mx.Cli("policy", "show", domain)).StdOut);

        var refused = await SwaksAsync($"someone@{InboundTlsFixture.ForgedDomain}", $"user@{domain}", Guid.NewGuid().ToString("N"));
        Assert.NotEqual(0, refused.ExitCode);
        Assert.Contains($"550 5.7.1 Email rejected per DMARC policy for {InboundTlsFixture.ForgedDomain}", refused.All);

        // Mail that passes DMARC still arrives.
        var token = Guid.NewGuid().ToString("N");
        var ok = await SwaksAsync($"someone@{InboundTlsFixture.SoftFailDomain}", $"user@{domain}", token);
        Assert.True(ok.ExitCode == 0, ok.All);
        await f.Mx.WaitForMessageAsync($"user@{domain}", token, Wait);
    }
}
