using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Store;

/// <summary>The inbound session log rows written for real SMTP sessions (basis of the readiness preview).</summary>
public sealed class SessionLogRowsTests
{
    private sealed record SessionRow(string Id, string Listener, string ClientIp, string? Helo, string? TlsProtocol, string? TlsCipher, long Messages, string? EndReason, long StartedAt, long? EndedAt);

    private sealed record RecipientRow(string SessionId, string? FromDomain, string RecipientDomain, bool Accepted, string Reply, string? TlsProtocol, string? TlsCipher);

    // The table has no key: the order rows were written in is SQLite's rowid, PostgreSQL's ctid (never updated here).
    private static string InsertionOrder => TestStore.Backend == StoreBackend.PostgreSql ? "ctid" : "rowid";

    private static (List<SessionRow> Sessions, List<RecipientRow> Recipients) ReadLog(SmtpTestServer server)
    {
        var db = server.Store.Database;
        var sessions = db.Rows("SELECT id, listener, client_ip, helo, tls_protocol, tls_cipher, messages, end_reason, started_at, ended_at FROM inbound_sessions ORDER BY started_at",
            r => new SessionRow(r.GetString(0), r.GetString(1), r.GetString(2), r.NullableString(3), r.NullableString(4), r.NullableString(5), r.GetInt64(6),
                r.NullableString(7), r.GetInt64(8), r.IsDBNull(9) ? null : r.GetInt64(9)));
        var recipients = db.Rows("SELECT session_id, mail_from_domain, recipient_domain, accepted, reply, tls_protocol, tls_cipher FROM inbound_recipients ORDER BY " + InsertionOrder,
            r => new RecipientRow(r.GetString(0), r.NullableString(1), r.GetString(2), r.GetInt64(3) == 1, r.GetString(4), r.NullableString(5), r.NullableString(6)));
        return (sessions, recipients);
    }

    [Fact]
    public async Task TlsSessionIsLoggedWithHeloTlsAndRecipientDecisions()
    {
        await using var server = await SmtpTestServer.StartAsync();
        string protocol, cipher;
        await using (var c = await server.ConnectEhloAsync())
        {
            await c.CommandAsync("STARTTLS", 220);
            await c.UpgradeToTlsAsync();
            protocol = SecureMx.Mail.NegotiatedTls.ProtocolName(c.Tls!.SslProtocol);
            cipher = c.Tls.NegotiatedCipherSuite.ToString();
            await c.EhloAsync("secure.client.test");
            await c.CommandAsync("MAIL FROM:<someone@Sender.Example>", 250);
            await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
            await c.CommandAsync("RCPT TO:<victim@gmail.example>", 554, "5.7.1");
            await c.CommandAsync("RCPT TO:<nobody@other.test>", 550, "5.1.1");
            await c.CommandAsync("DATA", 354);
            await c.SendAsync("Subject: logged\r\n\r\nx\r\n.\r\n");
            await c.ExpectAsync(250, "2.0.0");
            await c.CommandAsync("QUIT", 221);
        }
        await server.StopAsync();

        var (sessions, recipients) = ReadLog(server);
        var s = Assert.Single(sessions);
        Assert.Equal("mx", s.Listener);
        Assert.Equal("127.0.0.1", s.ClientIp);
        Assert.Equal("secure.client.test", s.Helo);
        Assert.Equal(protocol, s.TlsProtocol);
        Assert.Equal(cipher, s.TlsCipher);
        Assert.Equal(1, s.Messages);
        Assert.Equal("quit", s.EndReason);
        Assert.NotNull(s.EndedAt);
        Assert.True(s.EndedAt >= s.StartedAt);

        Assert.Equal(3, recipients.Count);
        Assert.All(recipients, r =>
        {
            Assert.Equal(s.Id, r.SessionId);
            Assert.Equal("sender.example", r.FromDomain);
            Assert.Equal(protocol, r.TlsProtocol);
            Assert.Equal(cipher, r.TlsCipher);
        });
        Assert.Equal(("example.org", true), (recipients[0].RecipientDomain, recipients[0].Accepted));
        Assert.StartsWith("250 2.1.5", recipients[0].Reply, StringComparison.Ordinal);
        Assert.Equal(("gmail.example", false), (recipients[1].RecipientDomain, recipients[1].Accepted));
        Assert.StartsWith("554 5.7.1", recipients[1].Reply, StringComparison.Ordinal);
        Assert.Equal(("other.test", false), (recipients[2].RecipientDomain, recipients[2].Accepted));
        Assert.StartsWith("550 5.1.1", recipients[2].Reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PlaintextSessionsAreLoggedWithoutTls()
    {
        await using var server = await SmtpTestServer.StartAsync();
        await using (var c = await server.ConnectEhloAsync("plain.client.test"))
        {
            await c.CommandAsync("MAIL FROM:<>", 250);
            await c.CommandAsync("RCPT TO:<bob@example.org>", 250);
            await c.CommandAsync("RCPT TO:<bad syntax@example.org>", 501, "5.1.3");
            await c.CommandAsync("QUIT", 221);
        }
        await using (var c = await server.ConnectAsync())
        {
            await c.CommandAsync("GET / HTTP/1.1", 421);
            await c.ExpectClosedAsync();
        }
        await server.StopAsync();

        var (sessions, recipients) = ReadLog(server);
        Assert.Equal(2, sessions.Count);
        var plain = sessions.Single(x => x.Helo == "plain.client.test");
        Assert.Null(plain.TlsProtocol);
        Assert.Null(plain.TlsCipher);
        Assert.Equal(0, plain.Messages);
        var http = sessions.Single(x => x.Helo is null);
        Assert.Contains("GET", http.EndReason, StringComparison.Ordinal);

        Assert.Equal(2, recipients.Count);
        Assert.All(recipients, r => Assert.Null(r.FromDomain)); // null sender
        Assert.True(recipients[0].Accepted);
        Assert.Equal("example.org", recipients[0].RecipientDomain);
        Assert.False(recipients[1].Accepted);
        Assert.Equal("(syntax)", recipients[1].RecipientDomain);
        Assert.All(recipients, r => Assert.Null(r.TlsProtocol));
    }

    [Fact]
    public async Task RefusedConnectionIsLoggedWithItsReason()
    {
        await using var server = await SmtpTestServer.StartAsync(limiter: new SecureMx.Smtp.ConnectionLimiter(100, 1));
        await using var first = await server.ConnectAsync();
        await using (var second = await server.ConnectAsync(readGreeting: false))
        {
            await second.ExpectAsync(421, "4.7.0");
            await second.ExpectClosedAsync();
        }
        await first.CommandAsync("QUIT", 221);
        await first.ExpectClosedAsync();
        await server.StopAsync();

        var (sessions, _) = ReadLog(server);
        Assert.Equal(2, sessions.Count);
        Assert.Contains(sessions, x => x.EndReason is not null && x.EndReason.StartsWith("refused:", StringComparison.Ordinal));
        Assert.Contains(sessions, x => x.EndReason == "quit");
    }
}
