using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Dkim;

/// <summary>
/// Mail from a hosted account leaves signed with both of its domain's keys, and an independent verifier —
/// dkimpy (Debian's python3-dkim), looking the keys up in the DNSSEC test bed — accepts both signatures in
/// what a Postfix receiver stored: through submission, through `sendmail`, and as 8-bit mail to a receiver
/// without 8BITMIME (converted to 7-bit before signing, so delivery sends the signed bytes unchanged).
/// </summary>
public sealed class DkimSigningTests(DkimSigningFixture f) : IClassFixture<DkimSigningFixture>
{
    private const string Sender = DkimSigningFixture.Sender;

    private static void AssertBothPass(ProcessResult verdict)
    {
        Assert.True(verdict.ExitCode == 0, "dkimpy refused the signatures:\n" + verdict.All);
        var lines = verdict.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("pass d=example.test s=rsa1 a=rsa-sha256", lines);
        Assert.Contains("pass d=example.test s=ed1 a=ed25519-sha256", lines);
    }

    [Fact]
    public async Task SubmittedMailArrivesWithAnRsaAndAnEd25519SignatureThatDkimpyAccepts()
    {
        var token = SubmissionClient.Token();
        string id;
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, Sender))
        {
            var message = SubmissionClient.Message(token, Sender, $"user@{TestBed.Deliver.Name}");
            message.Cc.Add(MailboxAddress.Parse($"other@{TestBed.Deliver.Name}"));
            id = await client.SendAsync(message, Sender, $"user@{TestBed.Deliver.Name}");
        }
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        AssertBothPass(await f.VerifyAsync(stored));
        // The submission log line names both signatures.
        await f.Mx.WaitForLogAsync($"{id}: from=<{Sender}>");
        await f.Mx.WaitForLogAsync("dkim=d=example.test s=rsa1 a=rsa-sha256, d=example.test s=ed1 a=ed25519-sha256");
    }

    [Fact]
    public async Task AChangedSubjectFailsTheSameVerifier()
    {
        var token = SubmissionClient.Token();
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, Sender))
            await client.SendAsync(SubmissionClient.Message(token, Sender, $"user@{TestBed.Deliver.Name}"), Sender, $"user@{TestBed.Deliver.Name}");
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        var verdict = await f.VerifyAsync(stored.Replace($"Subject: {token}", $"Subject: {token} (changed)", StringComparison.Ordinal));
        Assert.True(verdict.ExitCode == 1, verdict.All);
        Assert.Contains("fail d=example.test s=rsa1 a=rsa-sha256", verdict.StdOut);
        Assert.Contains("fail d=example.test s=ed1 a=ed25519-sha256", verdict.StdOut);
    }

    [Fact]
    public async Task EightBitMailToAReceiverWithout8BitMimeArrivesSevenBitWithValidSignatures()
    {
        var token = SubmissionClient.Token();
        var message = SubmissionClient.Message(token, Sender, $"user@{TestBed.Old.Name}");
        message.Body = new TextPart("plain") { Text = $"Grüße aus München, {token}\r\n", ContentTransferEncoding = ContentEncoding.EightBit };
        using (var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, Sender))
        {
            Assert.True(client.Smtp.Capabilities.HasFlag(MailKit.Net.Smtp.SmtpCapabilities.EightBitMime));
            await client.SendAsync(message, Sender, $"user@{TestBed.Old.Name}");
            Assert.Contains("BODY=8BITMIME", client.Transcript);
        }
        var stored = await f.Old.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        Assert.True(stored.All(c => c < 128), "8-bit bytes reached a server that did not offer 8BITMIME");
        AssertBothPass(await f.VerifyAsync(stored));
        var parsed = MimeMessage.Load(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(stored)));
        Assert.Equal($"Grüße aus München, {token}\n", parsed.TextBody!.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task MailFromSendmailIsSignedToo()
    {
        var token = SubmissionClient.Token();
        var text = $"From: {Sender}\nTo: user@{TestBed.Deliver.Name}\nSubject: {token}\nDate: Sun, 06 Dec 2026 01:00:00 +0000\nMessage-ID: <{token}@example.test>\n\nbody of {token}\n";
        var r = await Run.ProcessAsync("dotnet", [Run.SecureMxDll, "sendmail", "-f", Sender, "--data", f.Mx.DataDir, $"user@{TestBed.Deliver.Name}"], stdin: text);
        Assert.True(r.ExitCode == 0, r.All);
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        AssertBothPass(await f.VerifyAsync(stored));
    }

    [Fact]
    public async Task TheDashboardsDnsCheckShowsBothKeyRecordsAsPublished()
    {
        using var dashboard = new DashboardHttpClient(f.Mx);
        await dashboard.LoginAsync(Sender, SubmissionClient.Password);
        var page = await (await dashboard.GetAsync("/domain/example.test?check=1")).Content.ReadAsStringAsync();
        foreach (var selector in new[] { "rsa1", "ed1" })
            Assert.Matches($"data-item=\"dkim\" data-selector=\"{selector}\" data-level=\"ok\" data-verdict=\"Published\"", page);
    }

    [Fact]
    public async Task AMissingKeyFileIsA451AndTheSameMessageGoesOutSignedOnceItIsBack()
    {
        var keyFile = Path.Combine(f.Mx.DataDir, "dkim", "example.test", "ed1.pem");
        var aside = keyFile + ".aside";
        var token = SubmissionClient.Token();
        var message = SubmissionClient.Message(token, Sender, $"user@{TestBed.Deliver.Name}");
        using var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, Sender);
        File.Move(keyFile, aside);
        try
        {
            var refused = await Assert.ThrowsAsync<MailKit.Net.Smtp.SmtpCommandException>(() => client.SendAsync(message, Sender, $"user@{TestBed.Deliver.Name}"));
            Assert.Equal(451, (int)refused.StatusCode);
            Assert.Contains("DKIM-signed", refused.Message);
            // The server's log arrives through its output pipe: it may trail the 451 the client already has.
            await f.Mx.WaitForLogAsync("it cannot be DKIM-signed: DKIM keys of example.test cannot be read");
            await f.Mx.WaitForLogAsync("ed1.pem");
        }
        finally
        {
            File.Move(aside, keyFile);
        }
        // The client still holds the message and tries again, on the same connection: now it goes out, signed.
        await client.SendAsync(message, Sender, $"user@{TestBed.Deliver.Name}");
        var stored = await f.Receiver.WaitForMessageAsync(token, TimeSpan.FromSeconds(30));
        AssertBothPass(await f.VerifyAsync(stored));
        Assert.Single(f.Receiver.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task TheVerifierFindsThePublishedRecordsThroughTheTestBedsResolver()
    {
        // What `dkim add` printed is what the zone serves: a 2048-bit RSA key needs two TXT strings.
        Assert.Contains(f.Records, l => l.StartsWith("rsa1._domainkey.example.test. TXT \"v=DKIM1; k=rsa; p=", StringComparison.Ordinal) && l.Contains("\" \"", StringComparison.Ordinal));
        var dig = await Run.ProcessAsync("dig", ["+short", "+dnssec", "@" + f.Dns.Resolver.Address, "-p", f.Dns.Resolver.Port.ToString(), "ed1._domainkey.example.test", "TXT"]);
        Assert.Contains("v=DKIM1; k=ed25519; p=", dig.StdOut);
    }
}
