using System.Net;
using System.Text.RegularExpressions;
using SecureMx.Mail;
using SecureMx.Store;
using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Dashboard;

/// <summary>A host with delivery-log rows and deferred mail of user@a.test, other@a.test and user@b.test.</summary>
public sealed class SeededDashboardHost : DashboardTestHost
{
    /// <summary>Account → the marker in its log row's recipient and in its deferred recipient.</summary>
    public static readonly IReadOnlyDictionary<string, string> Markers = new Dictionary<string, string>
    {
        ["user@a.test"] = "usera",
        ["other@a.test"] = "othera",
        ["user@b.test"] = "userb",
    };

    public static string LogRecipient(string account) => $"log-{Markers[account]}@far.example";

    public static string QueueRecipient(string account) => $"queued-{Markers[account]}@far.example";

    /// <summary>A recipient domain reached only without TLS: listed by the outbound readiness preview.</summary>
    public static string PlainDomain(string account) => $"plain-{Markers[account]}.example";

    /// <summary>A recipient domain of user@a.test whose server offered STARTTLS but failed the handshake.</summary>
    public const string BrokenTlsDomain = "broken-tls.example";

    public const string BrokenTlsReason = "handshake failed: test-reason";

    /// <summary>A recipient domain of user@a.test reached over TLS 1.0 with CBC.</summary>
    public const string WeakTlsDomain = "weak-tls.example";

    protected override async Task SeedAsync()
    {
        var now = TimeProvider.System.GetUtcNow();
        Store.DeliveryLog.Append(Markers.Keys.Select((account, i) => new DeliveryLogEntry(
            now.AddMinutes(-30 - i), $"log-{i}", account, account, LogRecipient(account), "mx.far.example", "192.0.2.25",
            "delivered", 250, "2.0.0", "ok", "TLSv1.3", "TLS_AES_256_GCM_SHA384", "encrypted")));
        Store.DeliveryLog.Append(Markers.Keys.Select((account, i) => new DeliveryLogEntry(
            now.AddMinutes(-20 - i), $"plain-{i}", account, account, "rcpt@" + PlainDomain(account), "mx." + PlainDomain(account), "192.0.2.26",
            "delivered", 250, "2.0.0", "ok", null, null, "none")));
        // user@a.test also reached one server whose STARTTLS failed (plaintext after it) and one over weak TLS.
        Store.DeliveryLog.Append([
            new DeliveryLogEntry(now.AddMinutes(-10), "broken-0", "user@a.test", "user@a.test", "rcpt@" + BrokenTlsDomain, "mx." + BrokenTlsDomain, "192.0.2.27",
                "delivered", 250, "2.0.0", "ok", null, null, "none", BrokenTlsReason),
            new DeliveryLogEntry(now.AddMinutes(-9), "weak-0", "user@a.test", "user@a.test", "rcpt@" + WeakTlsDomain, "mx." + WeakTlsDomain, "192.0.2.28",
                "delivered", 250, "2.0.0", "ok", "TLSv1", "TLS_RSA_WITH_AES_128_CBC_SHA", "encrypted"),
        ]);
        Store.DeliveryLog.Flush();

        var i = 0;
        foreach (var account in Markers.Keys)
        {
            var id = $"queue-{i++}";
            var envelope = new Envelope(id, now.AddHours(-1), account, 100,
                new MailParameters(null, BodyType.SevenBit, false, DsnReturn.Unspecified, null),
                new ClientTrace("submission", "192.0.2.7", "client.example", "ESMTPSA", new NegotiatedTls("TLSv1.3", "TLS_AES_256_GCM_SHA384"), account),
                [new EnvelopeRecipient(QueueRecipient(account), QueueRecipient(account), RecipientRoute.Remote, null, DsnNotify.Unspecified, null, null)]);
            await Spool.Queue.InsertAsync(envelope, null, TimeProvider.System);
            await Spool.Queue.UpdateRecipientAsync(id, 0, TestOutcomes.DnsDeferred($"451 4.4.3 reason-{Markers[account]}"), now.AddHours(1), TimeProvider.System);
        }
    }
}

/// <summary>
/// The log and the queue show what the user may see, whatever the filters say: a user their own
/// account, a domain administrator the accounts of their domains, the system administrator all.
/// </summary>
public sealed partial class DashboardScopeTests(SeededDashboardHost host) : IClassFixture<SeededDashboardHost>
{
    private static readonly string[] Accounts = ["user@a.test", "other@a.test", "user@b.test"];

    private async Task AssertShows(Role role, string path, Func<string, string> marker, params string[] visible)
    {
        var client = await host.As(role);
        using var response = await client.GetAsync(path);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        if (visible.Length == 0 && response.StatusCode == HttpStatusCode.Forbidden) return;
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"GET {path} as {role}: {(int)response.StatusCode}");
        // Only the table rows count: a filter form may echo what was asked for.
        var rows = string.Join("\n", EntryRow().Matches(html).Select(m => m.Value));
        foreach (var account in Accounts)
        {
            Assert.True(rows.Contains(marker(account), StringComparison.Ordinal) == visible.Contains(account),
                $"GET {path} as {role}: the row of {account} is {(visible.Contains(account) ? "missing" : "shown")}");
        }
    }

    [Theory]
    [InlineData(Role.User, "/log", "user@a.test")]
    [InlineData(Role.Other, "/log", "other@a.test")]
    [InlineData(Role.UserB, "/log", "user@b.test")]
    [InlineData(Role.AdminA, "/log", "user@a.test", "other@a.test")]
    [InlineData(Role.AdminB, "/log", "user@b.test")]
    [InlineData(Role.Root, "/log", "user@a.test", "other@a.test", "user@b.test")]
    [InlineData(Role.AdminA, "/log?account=other@a.test", "other@a.test")]
    [InlineData(Role.Root, "/log?domain=b.test", "user@b.test")]
    public async Task DeliveryLogShowsOnlyTheUsersScope(Role role, string path, params string[] visible)
    {
        await AssertShows(role, path, SeededDashboardHost.LogRecipient, visible);
    }

    [Theory]
    [InlineData(Role.User, "/log?domain=a.test")]
    [InlineData(Role.User, "/log?recipient=log-othera@far.example")]
    [InlineData(Role.User, "/log?days=3650&result=delivered&tls=encrypted")]
    [InlineData(Role.AdminB, "/log?recipient=log-usera@far.example")]
    public async Task DeliveryLogFiltersNeverWidenTheScope(Role role, string path)
    {
        // Either refused (403) or shown without anybody else's rows.
        var own = DashboardTestHost.Addresses[role];
        await AssertShows(role, path, a => a == own ? "\u0000never" : SeededDashboardHost.LogRecipient(a));
    }

    [Theory]
    [InlineData(Role.User, "/queue", "user@a.test")]
    [InlineData(Role.Other, "/queue", "other@a.test")]
    [InlineData(Role.AdminA, "/queue", "user@a.test", "other@a.test")]
    [InlineData(Role.AdminB, "/queue", "user@b.test")]
    [InlineData(Role.Root, "/queue", "user@a.test", "other@a.test", "user@b.test")]
    [InlineData(Role.AdminA, "/queue?account=user@a.test", "user@a.test")]
    public async Task DeferredMailShowsOnlyTheUsersScope(Role role, string path, params string[] visible)
    {
        await AssertShows(role, path, SeededDashboardHost.QueueRecipient, visible);
    }

    [Theory]
    [InlineData(Role.User, "/queue?domain=a.test")]
    [InlineData(Role.AdminB, "/queue?domain=b.test&account=")]
    public async Task DeferredMailFiltersNeverWidenTheScope(Role role, string path)
    {
        var own = DashboardTestHost.Addresses[role];
        var scope = role == Role.AdminB ? "b.test" : own;
        await AssertShows(role, path, a => a == own || a.EndsWith("@" + scope, StringComparison.Ordinal) ? "\u0000never" : SeededDashboardHost.QueueRecipient(a));
    }

    [GeneratedRegex("""<tr[^>]*class="[^"]*\bentry\b[^"]*"[^>]*>.*?</tr>""", RegexOptions.Singleline)]
    private static partial Regex EntryRow();

    [Theory]
    [InlineData(Role.User, "/account/user@a.test", "user@a.test")]
    [InlineData(Role.AdminA, "/account/other@a.test", "other@a.test")]
    [InlineData(Role.AdminA, "/domain/a.test", "user@a.test", "other@a.test")]
    [InlineData(Role.AdminB, "/domain/b.test", "user@b.test")]
    [InlineData(Role.Root, "/account/user@b.test", "user@b.test")]
    public async Task OutboundReadinessShowsOnlyThePagesOwnMail(Role role, string path, params string[] visible)
    {
        var html = await (await host.As(role)).GetPageAsync(path);
        foreach (var account in Accounts)
        {
            Assert.True(html.Contains(SeededDashboardHost.PlainDomain(account), StringComparison.Ordinal) == visible.Contains(account),
                $"GET {path} as {role}: the readiness row of {account} is {(visible.Contains(account) ? "missing" : "shown")}");
        }
    }

    [Fact]
    public async Task TheLogAndTheReadinessPreviewTellAFailedStartTlsFromNoTlsAndMarkWeakTls()
    {
        var client = await host.As(Role.User);
        var rows = EntryRow().Matches(await client.GetPageAsync("/log")).Select(m => m.Value).ToList();
        var broken = Assert.Single(rows, r => r.Contains(SeededDashboardHost.BrokenTlsDomain, StringComparison.Ordinal));
        Assert.Contains("offered TLS, handshake failed: plaintext", broken);
        Assert.Contains("starttls-failed: " + SeededDashboardHost.BrokenTlsReason, broken);
        var plain = Assert.Single(rows, r => r.Contains(SeededDashboardHost.PlainDomain("user@a.test"), StringComparison.Ordinal));
        Assert.DoesNotContain("starttls-failed", plain);
        Assert.Contains("none (plaintext)", plain);
        var weak = Assert.Single(rows, r => r.Contains(SeededDashboardHost.WeakTlsDomain, StringComparison.Ordinal));
        Assert.Contains("weak-tls", weak);
        Assert.DoesNotContain("weak-tls", plain);

        var readiness = EntryRow().Matches(await client.GetPageAsync("/account/user@a.test")).Select(m => m.Value).ToList();
        var brokenHost = Assert.Single(readiness, r => r.Contains(SeededDashboardHost.BrokenTlsDomain, StringComparison.Ordinal));
        Assert.Contains("offered TLS, but the handshake failed", brokenHost);
        Assert.Contains(SeededDashboardHost.BrokenTlsReason, brokenHost);
        var plainHost = Assert.Single(readiness, r => r.Contains(SeededDashboardHost.PlainDomain("user@a.test"), StringComparison.Ordinal));
        Assert.Contains("no TLS", plainHost);
        Assert.DoesNotContain("handshake", plainHost);
        Assert.Contains("weak TLS", Assert.Single(readiness, r => r.Contains(SeededDashboardHost.WeakTlsDomain, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DeferredMailShowsTheReason()
    {
        var html = await (await host.As(Role.User)).GetPageAsync("/queue");
        Assert.Contains("reason-usera", html);
        Assert.DoesNotContain("reason-othera", html);
    }
}
