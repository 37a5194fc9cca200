using System.Security.Authentication;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using MailKit.Security;
using MimeKit;
using SecureMx.IntegrationTests.Inbound;
using SecureMx.IntegrationTests.Support;
using SecureMx.TestKit;

namespace SecureMx.IntegrationTests.Delivery;

/// <summary>
/// REQUIRETLS (RFC 8689) through a running SecureMx (README "REQUIRETLS and TLS-Required"): the server side
/// over raw SMTP, a REQUIRETLS message to a DANE peer that does not advertise REQUIRETLS (Postfix: 5.7.30 and a
/// failure DSN, nothing sent), to one that does (delivered, MAIL FROM with REQUIRETLS), and to a host that is
/// down (deferred, the flag kept across a restart); "TLS-Required: No" to a DANE mismatch, honoured for an
/// account under the default level and never over an account's mandatory TLS.
/// </summary>
public sealed class RequireTlsDeliveryTests(RequireTlsFixture f) : IClassFixture<RequireTlsFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Sends as the logged-in <paramref name="sender"/> (submissions, implicit TLS), with MAIL FROM … REQUIRETLS when <paramref name="requireTls"/>.</summary>
    private async Task<string> SubmitAsync(string sender, string token, bool requireTls, string recipient, bool tlsRequiredNo = false)
    {
        using var client = await SubmissionClient.LoginAsync(f.Mx, SecureSocketOptions.SslOnConnect, sender);
        client.Smtp.RequireTLS = requireTls;
        var message = SubmissionClient.Message(token, sender, recipient);
        if (tlsRequiredNo) message.Headers.Add("TLS-Required", "No");
        var id = await client.SendAsync(message, sender, recipient);
        Assert.Equal(requireTls, Regex.IsMatch(client.Transcript, @"^C: MAIL FROM:<[^>]*>.* REQUIRETLS", RegexOptions.Multiline));
        return id;
    }

    private Task<string> WaitForDeferredAsync(string id, string recipient) => f.Mx.WaitForDeferredAsync(id, recipient, Wait);

    private async Task<MimeMessage> WaitForDsnAsync(string mailbox, string token)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (true)
        {
            var dsn = f.Mx.Messages(mailbox).Select(File.ReadAllText)
                .FirstOrDefault(t => t.Contains(token, StringComparison.Ordinal) && t.Contains("report-type=delivery-status", StringComparison.Ordinal));
            if (dsn is not null) return MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(dsn)));
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no DSN for {token}; log:\n{f.Mx.Log}");
            await Task.Delay(100);
        }
    }

    private Task<string> DeliveryLogAsync(string recipient, string expect) => f.Mx.DeliveryLogAsync(expect, "--recipient", recipient);

    [Fact]
    public async Task TheMxOffersRequireTlsOnlyAfterStartTlsRefusesItInPlaintextAndStoresItOverTls()
    {
        await using var c = await TlsSmtpClient.ConnectAsync(f.Mx.Mx);
        var ehlo = await c.CommandAsync("EHLO client.test");
        Assert.DoesNotContain("REQUIRETLS", ehlo);
        Assert.StartsWith("530 5.7.10 ", await c.CommandAsync("MAIL FROM:<someone@remote.test> REQUIRETLS"));
        await c.StartTlsAsync(f.Mx.Hostname, SslProtocols.None);
        Assert.Matches(new Regex("^250[- ]REQUIRETLS$", RegexOptions.Multiline), await c.CommandAsync("EHLO client.test"));
        Assert.StartsWith("501 5.5.4 ", await c.CommandAsync("MAIL FROM:<someone@remote.test> REQUIRETLS=YES"));
        Assert.StartsWith("250 ", await c.CommandAsync("MAIL FROM:<someone@remote.test> REQUIRETLS"));
        Assert.StartsWith("250 ", await c.CommandAsync("RCPT TO:<carol@example.test>"));
        Assert.StartsWith("354 ", await c.CommandAsync("DATA"));
        var token = SubmissionClient.Token();
        var reply = await c.CommandAsync($"Subject: {token}\r\n\r\nover the MX with REQUIRETLS\r\n.");
        Assert.StartsWith("250 ", reply);
        await c.CommandAsync("QUIT");
        // Final delivery into the Maildir is what REQUIRETLS allows (RFC 8689 §4.4).
        var stored = Encoding.UTF8.GetString(await f.Mx.WaitForMessageAsync("carol@example.test", token));
        Assert.Contains("over the MX with REQUIRETLS", stored);
    }

    [Fact]
    public async Task ToADanePeerWithoutRequireTlsTheMessageFailsWith5730AndTheSenderGetsAHeadersOnlyDsn()
    {
        var token = SubmissionClient.Token();
        var to = $"{token}@{TestBed.DaneOk.Name}";
        await SubmitAsync("alice@example.test", token, requireTls: true, to);

        var dsn = await WaitForDsnAsync("alice@example.test", token);
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        var group = Assert.IsType<MessageDeliveryStatus>(report[1]).StatusGroups[1];
        Assert.Equal("failed", group["Action"]);
        Assert.Equal("5.7.30", group["Status"]);
        Assert.Contains("does not advertise REQUIRETLS", Regex.Replace(dsn.TextBody ?? "", @"\s+", " "));
        // RFC 8689 §5: the report returns the header only, never the body.
        Assert.IsType<TextRfc822Headers>(report[2]);
        Assert.DoesNotContain($"body of {token}", dsn.ToString());
        Assert.DoesNotContain(f.DaneOk.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));
        Assert.Matches($@"to=<{Regex.Escape(to)}> relay=\S+ failed tls=none \(550 5\.7\.30 REQUIRETLS support required", await DeliveryLogAsync(to, "failed"));
    }

    [Fact]
    public async Task ToADaneVerifiedPeerThatAdvertisesRequireTlsItIsDeliveredAndMailFromCarriesRequireTls()
    {
        var token = SubmissionClient.Token();
        var to = $"{token}@{TestBed.RequireTls.Name}";
        await SubmitAsync("alice@example.test", token, requireTls: true, to);

        var deadline = DateTime.UtcNow + Wait;
        while (!f.RequireTls.Messages.Any(m => m.Contains(token, StringComparison.Ordinal)))
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not at the REQUIRETLS peer; log:\n{f.Mx.Log}");
            await Task.Delay(100);
        }
        Assert.Contains(f.RequireTls.MailFromLines, l => l.StartsWith("tls: MAIL FROM:<alice@example.test>", StringComparison.Ordinal) && l.EndsWith(" REQUIRETLS", StringComparison.Ordinal));
        Assert.Matches($@"to=<{Regex.Escape(to)}> relay={Regex.Escape(TestBed.RequireTls.Mx)}\S+ delivered tls=dane TLSv1\.[23] ", await DeliveryLogAsync(to, "delivered"));
    }

    [Fact]
    public async Task ToAHostThatIsDownItIsDeferredAndTheFlagSurvivesARestart()
    {
        var token = SubmissionClient.Token();
        var to = $"{token}@{TestBed.Deliver.Name}";
        var id = await SubmitAsync("alice@example.test", token, requireTls: true, to);
        Assert.Contains("4.4.1", await WaitForDeferredAsync(id, to));

        Assert.Contains("requiretls:  yes", (await f.Mx.Cli("queue", "show", id)).StdOut);
        await f.Mx.StopAsync();
        await f.Mx.StartAsync();
        var show = await f.Mx.Cli("queue", "show", id, "--json");
        Assert.True(show.ExitCode == 0, show.All);
        Assert.True((bool)JsonNode.Parse(show.StdOut)!["requireTls"]!);
        await f.Mx.CliOk("queue", "delete", id);
    }

    [Fact]
    public async Task TlsRequiredNoFromAnAccountGoesToADaneMismatchOverOpportunisticTls()
    {
        var token = SubmissionClient.Token();
        var to = $"{token}@{TestBed.DaneBad.Name}";
        await SubmitAsync("bob@example.test", token, requireTls: false, to, tlsRequiredNo: true);

        await f.DaneBad.WaitForMessageAsync(token, Wait);
        Assert.Matches($@"to=<{Regex.Escape(to)}> relay={Regex.Escape(TestBed.DaneBad.Mx)}\S+ delivered tls=encrypted TLSv1\.[23] ", await DeliveryLogAsync(to, "delivered"));
        await f.Mx.WaitForLogAsync("TLS-Required: No honoured for " + TestBed.DaneBad.Name);
    }

    [Fact]
    public async Task TlsRequiredNoNeverLowersAnAccountsMandatoryTls()
    {
        await f.Mx.CliOk("policy", "outbound", "carol@example.test", "mandatory");
        try
        {
            var token = SubmissionClient.Token();
            var to = $"{token}@{TestBed.DaneBad.Name}";
            var id = await SubmitAsync("carol@example.test", token, requireTls: false, to, tlsRequiredNo: true);

            Assert.Contains("not verified by DANE", await WaitForDeferredAsync(id, to));
            await f.Mx.WaitForLogAsync("TLS-Required: No not honoured for " + TestBed.DaneBad.Name);
            Assert.DoesNotContain(f.DaneBad.StoredMessages(), m => m.Contains(token, StringComparison.Ordinal));
            await f.Mx.CliOk("queue", "delete", id);
        }
        finally
        {
            await f.Mx.CliOk("policy", "outbound", "carol@example.test", "default");
        }
    }
}
