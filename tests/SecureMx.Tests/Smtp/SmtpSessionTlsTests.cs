using System.Diagnostics;
using System.Net.Security;
using System.Security.Authentication;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;
using SecureMx.Tls;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// STARTTLS (RFC 3207) on the opportunistic MX listener. Here what the wire alone does not show (the
/// envelope, the negotiated suite, a broken handshake); the command sequences are in Dialogues/tls.
/// </summary>
public sealed class SmtpSessionTlsTests
{
    private static async Task<RawSmtpClient> ConnectTlsAsync(SmtpTestServer server, SslProtocols protocols = SslProtocols.None)
    {
        var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220, "2.0.0");
        await c.UpgradeToTlsAsync(protocols);
        return c;
    }

    [Fact]
    public async Task CommandsPipelinedAfterStartTlsAre554AndTheConnectionIsClosed()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.SendAsync("STARTTLS\r\nMAIL FROM:<a@b.example>\r\n");
        await c.ExpectAsync(554, "5.5.1");
        await c.ExpectClosedAsync();
        await server.StopAsync();
        Assert.Empty(server.Arrivals.Ids);
    }

    [Fact]
    public async Task FailedHandshakeEndsTheSessionWithoutCrashingTheListener()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("STARTTLS", 220);
            await c.SendAsync("this is not a TLS ClientHello\r\n\r\n");
            await c.DrainUntilClosedAsync(); // a TLS alert at most, then the server hangs up
        }
        await using var next = await server.ConnectEhloAsync();
        await next.CommandAsync("NOOP", 250);
    }

    [Fact]
    public async Task MessageOverTlsRecordsProtocolAndCipherInTheEnvelope()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await ConnectTlsAsync(server);
        await c.EhloAsync("tls.client.test");
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: tls\r\n\r\nsecret\r\n"u8.ToArray());
        var env = server.Spool.Queue.Load(id)!.Value.Envelope;
        Assert.NotNull(env.Client.Tls);
        Assert.Equal(NegotiatedTls.ProtocolName(c.Tls!.SslProtocol), env.Client.Tls.Protocol);
        Assert.Equal(c.Tls.NegotiatedCipherSuite.ToString(), env.Client.Tls.CipherSuite);
        Assert.StartsWith("TLSv1.", env.Client.Tls.Protocol, StringComparison.Ordinal);
        Assert.Equal("ESMTPS", env.Client.Protocol);
        Assert.Equal("tls.client.test", env.Client.Helo);
        Assert.Equal("Subject: tls\r\n\r\nsecret\r\n"u8.ToArray(), server.ReadMessage(id));
    }

    [Fact]
    public async Task RequireTlsOverTlsIsStoredWithTheMessageAndOnlyWhenAskedFor()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await ConnectTlsAsync(server);
        await c.EhloAsync();
        var tagged = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: r\r\n\r\nx\r\n"u8.ToArray(), "REQUIRETLS");
        var plain = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: p\r\n\r\nx\r\n"u8.ToArray());
        Assert.True(server.Spool.Queue.Load(tagged)!.Value.Envelope.Parameters.RequireTls);
        Assert.False(server.Spool.Queue.Load(plain)!.Value.Envelope.Parameters.RequireTls);
    }

    [Fact]
    public async Task RequireTlsInPlaintextStoresNothingAndTheNextTransactionIsUntagged()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example> REQUIRETLS", 530, "5.7.10");
        await c.CommandAsync("RCPT TO:<alice@example.org>", 503, "5.5.1"); // no transaction was opened
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "Subject: p\r\n\r\nx\r\n"u8.ToArray());
        Assert.Equal([id], server.Arrivals.Ids);
        Assert.False(server.Spool.Queue.Load(id)!.Value.Envelope.Parameters.RequireTls);
    }

    [Fact]
    public async Task Tls12ClientIsRecordedAsTls12()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await ConnectTlsAsync(server, SslProtocols.Tls12);
        await c.EhloAsync();
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "x\r\n"u8.ToArray());
        var tls = server.Spool.Queue.Load(id)!.Value.Envelope.Client.Tls!;
        Assert.Equal("TLSv1.2", tls.Protocol);
        Assert.Equal(c.Tls!.NegotiatedCipherSuite.ToString(), tls.CipherSuite);
    }

#pragma warning disable SYSLIB0039, CA5397 // the old clients, on purpose
    public static TheoryData<SslProtocols, TlsCipherSuite, string> OldClients => new()
    {
        { SslProtocols.Tls, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, "TLSv1" },
        { SslProtocols.Tls11, TlsCipherSuite.TLS_RSA_WITH_AES_256_CBC_SHA, "TLSv1.1" },
        { SslProtocols.Tls12, TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA, "TLSv1.2" },
    };
#pragma warning restore SYSLIB0039, CA5397

    [Theory]
    [MemberData(nameof(OldClients))]
    public async Task TheOpportunisticMxTakesMailOverOldTlsAndCbcAndRecordsItAsWeakTls(SslProtocols protocol, TlsCipherSuite suite, string expected)
    {
        // RFC 7435: a sender that can do no better gets encryption, not plaintext.
        await using var server = await SmtpTestServer.StartAsync();
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220, "2.0.0");
        await c.UpgradeToTlsAsync(protocol, [suite], legacy: true);
        await c.EhloAsync();
        var id = await c.SendMessageAsync("sender@remote.example", ["alice@example.org"], "x\r\n"u8.ToArray());
        var tls = server.Spool.Queue.Load(id)!.Value.Envelope.Client.Tls!;
        Assert.Equal((expected, suite.ToString()), (tls.Protocol, tls.CipherSuite));
        Assert.Equal(TlsGrade.Weak, TlsGrading.Of(tls.Protocol, tls.CipherSuite));
    }

    [Theory]
    [MemberData(nameof(OldClients))]
    public async Task TheSecureMxRefusesOldTlsAndCbc(SslProtocols protocol, TlsCipherSuite suite, string expected)
    {
        _ = expected;
        await using var server = await SmtpTestServer.StartAsync(listener: new SecureMx.Smtp.ListenerSettings("secureMx", TlsProfile.Strict, RequireTls: true));
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("STARTTLS", 220);
        await Assert.ThrowsAnyAsync<Exception>(() => c.UpgradeToTlsAsync(protocol, [suite], legacy: true));
        Assert.Empty(server.Arrivals.Ids);
    }

    /// <summary>
    /// openssl s_client -starttls smtp -tls1_2 -cipher CIPHERS against the server (-brief: "Ciphersuite: …"
    /// on success); stdin is closed, so it ends after the handshake. Skips where openssl is not installed.
    /// </summary>
    private static async Task<(int ExitCode, string Output)> OpenSslClientAsync(SmtpTestServer server, string ciphers)
    {
        Process p;
        try
        {
            p = Process.Start(new ProcessStartInfo("openssl", ["s_client", "-starttls", "smtp", "-connect", $"{server.Endpoint.Address}:{server.Endpoint.Port}", "-brief", "-tls1_2", "-cipher", ciphers])
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Skip($"openssl is not installed: {ex.Message}");
            throw;
        }
        using (p)
        {
            p.StandardInput.Close();
            var stdout = p.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = p.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            await p.WaitForExitAsync(timeout.Token);
            return (p.ExitCode, await stdout + await stderr);
        }
    }

    [Fact]
    public async Task TheOpportunisticMxRefusesAClientThatOffersOnlyNullAnonymousOrExportSuites()
    {
        // The listener runs at OpenSSL security level 0 (for TLS 1.0 and CBC clients), where OpenSSL itself
        // would still negotiate NULL and anonymous suites: only the profile's own cipher list keeps them out.
        await using var server = await SmtpTestServer.StartAsync();

        var ordinary = await OpenSslClientAsync(server, "ECDHE-RSA-AES128-GCM-SHA256");
        Assert.True(ordinary.ExitCode == 0, ordinary.Output); // the same client, with a suite that encrypts and authenticates
        Assert.Contains("Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256", ordinary.Output, StringComparison.Ordinal);

        // @SECLEVEL=0 first: after the name of a suite OpenSSL 3 no longer knows (EXPORT) it would be dropped with
        // it, and the client would offer nothing at all ("no ciphers available": a failure that proves nothing).
        var hostile = await OpenSslClientAsync(server, "@SECLEVEL=0:eNULL:aNULL:EXPORT");
        Assert.True(hostile.ExitCode != 0, "a NULL/anonymous suite was negotiated:\n" + hostile.Output);
        Assert.DoesNotContain("Ciphersuite:", hostile.Output, StringComparison.Ordinal);
        Assert.Contains("alert handshake failure", hostile.Output, StringComparison.Ordinal); // the server refused what the client offered
        Assert.Empty(server.Arrivals.Ids);
    }

    [Fact]
    public async Task StrictListenerRequiresTlsBeforeMail()
    {
        await using var server = await SmtpTestServer.StartAsync(listener: new SecureMx.Smtp.ListenerSettings("secureMx", TlsProfile.Strict, RequireTls: true));
        await using var c = await server.ConnectEhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 530, "5.7.0");
        await c.CommandAsync("STARTTLS", 220);
        await c.UpgradeToTlsAsync();
        await c.EhloAsync();
        await c.CommandAsync("MAIL FROM:<sender@remote.example>", 250);
        Assert.True(TlsGrading.IsStrictSuite(NegotiatedTls.ProtocolName(c.Tls!.SslProtocol), c.Tls.NegotiatedCipherSuite.ToString()));
    }
}
