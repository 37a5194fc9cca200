using System.Security.Cryptography.X509Certificates;
using System.Text;
using SecureMx.Config;
using SecureMx.Delivery.Lmtp;
using SecureMx.Mail;
using SecureMx.Spool;
using SecureMx.TestKit;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Delivery.Lmtp;

/// <summary>
/// One LMTP transaction (no queue): when STARTTLS is required and what is then trusted, what the
/// server must offer for non-ASCII addresses and 8-bit content, and a shutdown in the middle.
/// Every test server is on loopback, so the tests that need TLS replace the loopback exemption.
/// </summary>
public sealed class LmtpDeliveryTests
{
    private static readonly DateTimeOffset At = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Lazy<X509Certificate2> ServerCertificate = new(() =>
    {
        using var cert = TestCertificates.SelfSigned("lmtp.test");
        // SslStream needs the key in a persisted form for server use: through PKCS#12, as CertificateFactory does.
        return X509CertificateLoader.LoadPkcs12(cert.Leaf.Export(X509ContentType.Pkcs12), null);
    });

    private static LmtpDelivery Delivery(string target, ListLogger log, X509Certificate2? instance = null, bool requireTls = false) =>
        new(LmtpTarget.Parse(target)!, new SecureMxOptions { Hostname = "mx.example.test" }, () => instance, log)
        {
            TlsRequiredFor = requireTls ? _ => true : LmtpTarget.RequiresTls,
        };

    private static (Envelope Envelope, List<QueuedRecipient> Recipients, Func<Stream> Data) Message(string sender, string content,
        bool smtpUtf8 = false, BodyType body = BodyType.SevenBit, params string[] recipients)
    {
        var rcpts = recipients.Select(a => new EnvelopeRecipient(a, a, RecipientRoute.Local, "mail/x", DsnNotify.Unspecified, null, null)).ToList();
        var bytes = Encoding.UTF8.GetBytes(content);
        var envelope = new Envelope("MSGID", At, sender, bytes.Length, new MailParameters(null, body, smtpUtf8, DsnReturn.Unspecified, null),
            new ClientTrace("mx", "192.0.2.9", "client.example", "ESMTP", null, null), rcpts);
        var queued = rcpts.Select((r, i) => new QueuedRecipient("MSGID", i, r, RecipientState.Queued, 0, At, null)).ToList();
        return (envelope, queued, () => new MemoryStream(bytes));
    }

    private static (Envelope, List<QueuedRecipient>, Func<Stream>) Plain() => Message("sender@remote.test", "Subject: x\r\n\r\nhi\r\n", recipients: "alice@example.test");

    [Fact]
    public async Task OverANetworkTheInstancesOwnCertificateIsTrustedAndEverythingGoesInsideTls()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Certificate = ServerCertificate.Value;
        var log = new ListLogger();
        var (envelope, recipients, data) = Plain();

        var outcomes = await Delivery(server.Target, log, instance: ServerCertificate.Value, requireTls: true).DeliverAsync(envelope, recipients, data, Ct);

        var o = Assert.Single(outcomes);
        Assert.Equal(RecipientState.Delivered, o.Outcome.State);
        Assert.Equal("TLSv1.3", o.Tls!.Protocol);
        Assert.True(o.Tls.IsStrict);
        var t = Assert.Single(server.Transactions);
        Assert.True(t.Tls);
        // LHLO again after TLS (RFC 3207 §4.2); nothing but LHLO and STARTTLS before it.
        Assert.Equal(["LHLO mx.example.test", "STARTTLS", "LHLO mx.example.test"], server.Reads.SelectMany(r => r).Take(3));
    }

    [Fact]
    public async Task OverANetworkACertificateNeitherTrustedNorOurOwnDefersWithoutSendingAnything()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Certificate = ServerCertificate.Value;
        using var other = TestCertificates.SelfSigned("mx.example.test");
        var (envelope, recipients, data) = Plain();

        var outcomes = await Delivery(server.Target, new ListLogger(), instance: other.Leaf, requireTls: true).DeliverAsync(envelope, recipients, data, Ct);

        var o = Assert.Single(outcomes);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.CryptographicFailure), (o.Outcome.State, o.Outcome.Status));
        Assert.StartsWith("4.7.5 LMTP server: TLS failed: certificate not trusted for 127.0.0.1: ", o.Outcome.Text);
        Assert.Empty(server.Transactions);
        Assert.DoesNotContain(server.Reads.SelectMany(r => r), l => l.StartsWith("MAIL", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OverANetworkAServerWithoutStartTlsGetsNothing()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var log = new ListLogger();
        var (envelope, recipients, data) = Plain();

        var outcomes = await Delivery(server.Target, log, requireTls: true).DeliverAsync(envelope, recipients, data, Ct);

        var o = Assert.Single(outcomes);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.SecurityNotSupported, 451), (o.Outcome.State, o.Outcome.Status, o.Outcome.ReplyCode));
        Assert.Equal("4.7.4 LMTP server does not offer STARTTLS, which is required for LMTP over a network", o.Outcome.Text);
        Assert.Equal(["LHLO mx.example.test", "QUIT"], server.Reads.SelectMany(r => r));
        Assert.Contains(log.Lines, l => l.StartsWith("Warning: LMTP server 127.0.0.1:", StringComparison.Ordinal) && l.Contains("does not offer STARTTLS", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OnLoopbackTheConnectionStaysPlainEvenWhenStartTlsIsOffered()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Certificate = ServerCertificate.Value;
        var (envelope, recipients, data) = Plain();

        var outcomes = await Delivery(server.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);

        Assert.Equal(RecipientState.Delivered, Assert.Single(outcomes).Outcome.State);
        Assert.Null(outcomes[0].Tls);
        Assert.False(Assert.Single(server.Transactions).Tls);
    }

    [Fact]
    public async Task ANonAsciiSenderIsBouncedWhenTheServerLacksSmtpUtf8()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var (envelope, recipients, data) = Message("jörg@remote.test", "Subject: x\r\n\r\nhi\r\n", smtpUtf8: true, recipients: ["alice@example.test", "bob@example.test"]);

        var outcomes = await Delivery(server.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);

        Assert.Equal(2, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal((RecipientState.Failed, OutcomeReason.ServerCapability, EnhancedStatus.NonAsciiAddress, 553),
            (o.Outcome.State, o.Outcome.Reason, o.Outcome.Status, o.Outcome.ReplyCode)));
        Assert.Empty(server.Transactions);
    }

    [Fact]
    public async Task SmtpUtf8IsUsedWhenOfferedAndNotNeededForNonAsciiContentAlone()
    {
        await using var offering = FakeLmtpServer.StartTcp();
        offering.Capabilities.Add("SMTPUTF8");
        var (envelope, recipients, data) = Message("jörg@remote.test", "Subject: Grüße\r\n\r\nhi\r\n", smtpUtf8: true, recipients: "alice@example.test");
        var delivered = await Delivery(offering.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);
        Assert.Equal(RecipientState.Delivered, Assert.Single(delivered).Outcome.State);
        Assert.Equal("MAIL FROM:<jörg@remote.test> SMTPUTF8", offering.Transactions.Single().Mail);

        // ASCII addresses, UTF-8 headers: the mailbox server stores the bytes; no SMTPUTF8 needed.
        await using var lacking = FakeLmtpServer.StartTcp();
        (envelope, recipients, data) = Message("sender@remote.test", "Subject: Grüße\r\n\r\nhi\r\n", smtpUtf8: true, recipients: "alice@example.test");
        delivered = await Delivery(lacking.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);
        Assert.Equal(RecipientState.Delivered, Assert.Single(delivered).Outcome.State);
        var t = lacking.Transactions.Single();
        Assert.Equal("MAIL FROM:<sender@remote.test>", t.Mail);
        Assert.Contains("Subject: Grüße", Encoding.UTF8.GetString(t.Content));
    }

    [Fact]
    public async Task EightBitContentIsConvertedForAServerWithout8BitMime()
    {
        await using var server = FakeLmtpServer.StartTcp();
        server.Capabilities = ["PIPELINING", "ENHANCEDSTATUSCODES"];
        var (envelope, recipients, data) = Message("sender@remote.test",
            "Subject: x\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n",
            body: BodyType.EightBitMime, recipients: "alice@example.test");

        var outcomes = await Delivery(server.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);

        Assert.Equal(RecipientState.Delivered, Assert.Single(outcomes).Outcome.State);
        var t = server.Transactions.Single();
        Assert.Equal("MAIL FROM:<sender@remote.test>", t.Mail);
        Assert.All(t.Wire, b => Assert.True(b < 0x80));
        // The same text, in a 7-bit transfer encoding.
        var part = Assert.IsType<MimeKit.TextPart>(MimeKit.MimeMessage.Load(new MemoryStream(t.Content)).Body);
        Assert.NotEqual(MimeKit.ContentEncoding.EightBit, part.ContentTransferEncoding);
        Assert.Equal("Grüße", part.Text.TrimEnd());
    }

    [Fact]
    public async Task EightBitContentIsDeclaredToAServerWith8BitMime()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var (envelope, recipients, data) = Message("sender@remote.test", "Subject: x\r\n\r\nGrüße\r\n", body: BodyType.EightBitMime, recipients: "alice@example.test");

        await Delivery(server.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);

        Assert.Equal("MAIL FROM:<sender@remote.test> BODY=8BITMIME", server.Transactions.Single().Mail);
    }

    [Fact]
    public async Task AShutdownWhileWaitingForTheRepliesIsNoAttempt()
    {
        await using var server = FakeLmtpServer.StartTcp();
        var never = new TaskCompletionSource();
        server.HoldAfterData = never.Task;
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var (envelope, recipients, data) = Plain();

        var delivering = Delivery(server.Target, new ListLogger()).DeliverAsync(envelope, recipients, data, shutdown.Token);
        while (server.Transactions.Count == 0) await Task.Delay(5, Ct);
        await shutdown.CancelAsync();

        Assert.Empty(await delivering);
    }

    [Fact]
    public async Task AnUnresolvableHostNameDefersWithTheReason()
    {
        var (envelope, recipients, data) = Plain();

        var outcomes = await Delivery("lmtp.invalid:24", new ListLogger()).DeliverAsync(envelope, recipients, data, Ct);

        var o = Assert.Single(outcomes);
        Assert.Equal((RecipientState.Deferred, EnhancedStatus.DirectoryServerFailure), (o.Outcome.State, o.Outcome.Status));
        Assert.StartsWith("4.4.3 LMTP server: cannot resolve its host name: ", o.Outcome.Text);
    }
}
