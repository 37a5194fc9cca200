using SecureMx.Dns;
using SecureMx.Mail;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Queue;

/// <summary>
/// The queue when the store cannot be read (PostgreSQL gone; here the directory's tables are gone,
/// which fails the same reads with the same kind of error): a remote recipient whose outbound TLS
/// policy cannot be read is deferred with 4.3.0 — never sent under a guessed level, never failed —
/// and delivered once the store answers again.
/// </summary>
public sealed class QueueStoreOutageTests
{
    private const string Tables = "domains mailboxes aliases tls_destinations";

    private static void Rename(QueueRunnerHarness h, string from, string to)
    {
        foreach (var table in Tables.Split(' '))
            h.Store.Database.Execute($"ALTER TABLE {table}{from} RENAME TO {table}{to}");
    }

    [Fact]
    public async Task ARemoteRecipientWhosePolicyCannotBeReadIsDeferredAndDeliveredWhenTheStoreIsBack()
    {
        await using var server = await SmtpTestServer.StartAsync(withTls: false);
        await using var h = await QueueRunnerHarness.CreateAsync(
            (domain, _) => MxResolution.FromRecords(domain, [("mx.other.test", 10)], DnsSecurity.Insecure, new Random(1)),
            o => o.Delivery.SmtpPort = server.Endpoint.Port);
        Rename(h, "", "_gone");

        var id = await h.SendAsync(recipient: "carol@other.test");
        var r = h.Recipient(id)!;
        Assert.Equal(RecipientState.Deferred, r.State);
        Assert.StartsWith("4.3.0 the outbound TLS policy cannot be read from the store", r.LastError);
        Assert.Empty(h.Dns.QueriedDomains); // nothing was sent anywhere
        Assert.Empty(server.Arrivals.Ids);

        Rename(h, "_gone", "");
        await h.RunForAsync(TimeSpan.FromSeconds(h.Options.Delivery.LocalRetrySeconds + 5));
        Assert.Null(h.Spool.Queue.Load(id));
        Assert.Single(server.Arrivals.Ids);
    }
}
