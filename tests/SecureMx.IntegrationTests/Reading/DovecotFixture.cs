using System.Text.Json.Nodes;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Reading;

/// <summary>
/// One SecureMx instance owned by the test user (as production's would be by its own), with the
/// submission listeners and the dashboard, and the Dovecot `securemx dovecot-config` generates for
/// it in front. Each test uses its own mailbox. Failed logins per account are limited to 3 (eve's
/// test pins the throttle shared between IMAP, POP3 and SMTP AUTH); per address they are out of
/// reach, because every client here is 127.0.0.1.
/// </summary>
public sealed class DovecotFixture : DovecotInstanceFixture
{
    public const string Domain = "read.test";
    public const string Owner = "securemx-test";
    public const int MaxFailuresPerAccount = 3;


    public static readonly string[] Mailboxes =
        ["alice", "bob", "carol", "dave", "eve", "frank", "henry", "legacy", "pop", "tls"];

    public override async ValueTask InitializeAsync()
    {
        Mx = await SecureMxInstance.CreateAsync(Domain, Mailboxes.Select(m => $"{m}@{Domain}").ToArray(), cfg =>
        {
            cfg["auth"] = new JsonObject { ["failureDelay"] = "200ms", ["maxFailuresPerIp"] = 1000, ["maxFailuresPerAccount"] = MaxFailuresPerAccount };
            cfg["dns"] = Net.Text(Net.FreeEndpoint()); // nothing remote here
            cfg["listeners"]!["dovecotPolicy"] = Net.Text(Net.FreeEndpoint());
        }, submission: true, dashboard: Net.FreeEndpoint(), owner: Owner);
        Dovecot = await DovecotPeer.StartAsync(Mx);
        await Mx.StartAsync();
    }
}
