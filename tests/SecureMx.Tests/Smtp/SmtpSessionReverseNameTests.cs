using System.Diagnostics;
using System.Net;
using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Smtp;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// The reverse name of a client refused under inbound mandatory TLS: looked up only then, once per
/// session, alongside it (no reply waits), bounded by <see cref="SmtpSession.ReverseNameTimeout"/>, and kept in the session log.
/// </summary>
public sealed class SmtpSessionReverseNameTests
{
    private sealed class CountingResolver(string? name, bool hang = false) : IMailDnsResolver
    {
        public int Lookups;

        public Task<MxResolution> ResolveMxAsync(string domain, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<AddressResolution> ResolveAddressesAsync(string host, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<TlsaResolution> ResolveTlsaAsync(string host, int port, CancellationToken cancellationToken = default) => throw new NotSupportedException();
        public Task<TxtResolution> ResolveTxtAsync(string name, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async Task<string?> ResolveReverseNameAsync(IPAddress address, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Lookups);
            if (hang) await Task.Delay(Timeout.Infinite, CancellationToken.None); // heeds nothing: the session must bound it itself
            return name;
        }
    }

    private static async Task<(SmtpTestServer Server, CountingResolver Dns)> StartAsync(string? name, bool hang = false)
    {
        var server = await SmtpTestServer.StartAsync();
        server.Store.Policies.SetInboundTls("example.org", InboundTlsSetting.Mandatory, "test");
        var dns = new CountingResolver(name, hang);
        server.Context.ReverseDns = dns;
        return (server, dns);
    }

    private static string? LoggedReverseName(SmtpTestServer server) =>
        server.Store.Database.Rows("SELECT reverse_name FROM inbound_sessions", r => r.IsDBNull(0) ? null : r.GetString(0)).Single();

    [Fact]
    public async Task ARefusedClientIsLookedUpOnceAndTheNameLogged()
    {
        var (server, dns) = await StartAsync("mx.sender.test");
        await using (server)
        {
            await using (var c = await server.ConnectEhloAsync())
            {
                await c.CommandAsync("MAIL FROM:<a@sender.test>", 250);
                await c.CommandAsync("RCPT TO:<alice@example.org>", 550);
                await c.CommandAsync("RCPT TO:<bob@example.org>", 550);
                await c.CommandAsync("QUIT", 221);
            }
            await server.StopAsync();
            Assert.Equal(1, dns.Lookups);
            Assert.Equal("mx.sender.test", LoggedReverseName(server));
        }
    }

    [Fact]
    public async Task NoLookupForAcceptedOrOtherwiseRefusedRecipients()
    {
        var (server, dns) = await StartAsync("mx.sender.test");
        await using (server)
        {
            server.Store.Policies.SetInboundTls("example.org", InboundTlsSetting.Opportunistic, "test");
            await using (var c = await server.ConnectEhloAsync())
            {
                await c.CommandAsync("MAIL FROM:<a@sender.test>", 250);
                await c.CommandAsync("RCPT TO:<alice@example.org>", 250);
                await c.CommandAsync("RCPT TO:<someone@elsewhere.test>", 554); // relay refused
                await c.CommandAsync("QUIT", 221);
            }
            await server.StopAsync();
            Assert.Equal(0, dns.Lookups);
            Assert.Null(LoggedReverseName(server));
        }
    }

    [Fact]
    public async Task AResolverThatHangsDelaysNoReplyAndTheSessionIsLoggedWithTheNameUnknownWithinTheTimeout()
    {
        var (server, dns) = await StartAsync("never.test", hang: true);
        await using (server)
        {
            var clock = Stopwatch.StartNew();
            await using (var c = await server.ConnectEhloAsync())
            {
                await c.CommandAsync("MAIL FROM:<a@sender.test>", 250);
                clock.Restart();
                await c.CommandAsync("RCPT TO:<alice@example.org>", 550);
                await c.CommandAsync("RCPT TO:<bob@example.org>", 550);
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"the refusals waited {clock.Elapsed} for the reverse name");
                await c.CommandAsync("QUIT", 221);
            }
            await server.StopAsync();
            // The record waited for the lookup when the session ended, at most the timeout.
            Assert.InRange(clock.Elapsed, SmtpSession.ReverseNameTimeout - TimeSpan.FromMilliseconds(200), SmtpSession.ReverseNameTimeout + TimeSpan.FromSeconds(3));
            Assert.Equal(1, dns.Lookups);
            Assert.Null(LoggedReverseName(server));
        }
    }
}
