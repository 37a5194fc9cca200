using System.Globalization;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Smtp;

/// <summary>
/// A running server against the open-file limit (serve started under prlimit): the runtime raises a soft limit to
/// the hard one; a hard limit without room for limits.maxConnections lowers it (named at start), so the sessions
/// never take the descriptors the rest of the server needs, and the clients beyond it get 421.
/// </summary>
public sealed class OpenFileLimitTests
{
    [Fact]
    public async Task ASoftOpenFileLimitBelowANeededHardOneIsRaisedByTheRuntimeAndNoWarningIsLogged()
    {
        // OpenFileLimit relies on .NET raising the soft limit to the hard one at start; this pins it.
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        mx.OpenFileLimit = (256, 4096); // limits.maxConnections 500 needs about 1 100: a soft 256 would lower it
        await mx.StartAsync();

        var limits = await File.ReadAllLinesAsync($"/proc/{mx.Pid}/limits");
        Assert.Matches(@"^Max open files\s+4096\s+4096\s", limits.Single(l => l.StartsWith("Max open files", StringComparison.Ordinal)));
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "limit-enough")).Acknowledged);
        Assert.DoesNotContain("open-file limit", mx.Log);
    }

    [Fact]
    public async Task AtTheOpenFileLimitTheServerServesTheSessionsItHasRoomForRefusesTheRestAndKeepsWorking()
    {
        // 1 100 connections against a limit of 1 024: before, the server accepted them all until accept failed with
        // EMFILE; then a metrics scrape made Kestrel's accept loop spin, and the busy sessions' next thread start
        // aborted the process ("Out of memory.").
        const int Attempts = 1100;
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], configure: cfg =>
        {
            cfg["limits"]!["maxConnections"] = 2000;
            cfg["limits"]!["maxConnectionsPerIp"] = 2000;
        });
        mx.OpenFileLimit = (1024, 1024);
        var metrics = Net.FreeEndpoint();
        await mx.StartAsync("--metrics", Net.Text(metrics));
        await mx.WaitForLogAsync("limits.maxConnections 2000 is lowered to ");
        var room = int.Parse(Regex.Match(mx.Log, @"limits\.maxConnections 2000 is lowered to (\d+) \(more get 421 4\.7\.0\)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.InRange(room, 100, 1024 - 192);
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "before@outside.test", "alice@example.test", "before-the-limit")).Acknowledged);
        await mx.WaitForMessageAsync("alice@example.test", "before-the-limit");

        var held = new List<RawSmtp>();
        try
        {
            int refused = 0;
            for (int i = 0; i < Attempts; i++)
            {
                var c = await RawSmtp.ConnectAsync(mx.Mx);
                var greeting = string.Join("\n", await c.ReadReplyAsync(TimeSpan.FromSeconds(30)));
                if (greeting.StartsWith("220 ", StringComparison.Ordinal))
                {
                    held.Add(c);
                    continue;
                }
                Assert.StartsWith("421 4.7.0 ", greeting, StringComparison.Ordinal);
                refused++;
                await c.DisposeAsync();
            }
            Assert.Equal(room, held.Count);
            Assert.Equal(Attempts - room, refused);

            // At the limit, a session works (its Maildir delivery gets a descriptor) and the metrics answer.
            var busy = held[^1];
            foreach (var (command, expect) in new[] { ("EHLO client.outside.test", "250"), ("MAIL FROM:<at@outside.test>", "250"), ("RCPT TO:<alice@example.test>", "250"), ("DATA", "354") })
            {
                Assert.StartsWith(expect, await busy.CommandAsync(command), StringComparison.Ordinal);
            }
            Assert.StartsWith("250 ", await busy.CommandAsync("Subject: at-the-limit\r\n\r\nbody\r\n."), StringComparison.Ordinal);
            await mx.WaitForMessageAsync("alice@example.test", "at-the-limit");
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
            var exposition = await http.GetStringAsync($"http://{Net.Text(metrics)}/metrics");
            Assert.DoesNotMatch(@"^securemx_smtp_accept_failures_total\{[^}]*\} [1-9]", exposition.Replace("\r", "", StringComparison.Ordinal));
            Assert.StartsWith("421 4.7.0 ", (await SmtpProbe.SendAsync(mx.Mx, "full@outside.test", "alice@example.test", "refused-when-full")).Replies[0], StringComparison.Ordinal);
        }
        finally
        {
            foreach (var c in held) await c.DisposeAsync();
        }

        var after = await SmtpProbe.SendAsync(mx.Mx, "after@outside.test", "alice@example.test", "after-the-limit");
        Assert.True(after.Acknowledged, after.ToString());
        await mx.WaitForMessageAsync("alice@example.test", "after-the-limit");
        Assert.Equal(3, mx.Messages("alice@example.test").Length);
        Assert.True(Directory.Exists($"/proc/{mx.Pid}"), mx.Log);
        Assert.DoesNotContain("out of file descriptors", mx.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("Too many open files", mx.Log, StringComparison.Ordinal);
    }
}
