using System.Net.Sockets;
using System.Text.RegularExpressions;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Smtp;

/// <summary>
/// A running server against the open-file limit (serve started under prlimit): a hard limit short of what
/// limits.maxConnections needs is named at start; out of descriptors, new connections wait unanswered and are
/// served once sessions end, with the failure logged once and nothing lost.
/// </summary>
public sealed class OpenFileLimitTests
{
    [Fact]
    public async Task ASoftOpenFileLimitBelowANeededHardOneIsRaisedByTheRuntimeAndNoWarningIsLogged()
    {
        // OpenFileLimit relies on .NET raising the soft limit to the hard one at start; this pins it.
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"]);
        mx.OpenFileLimit = (256, 4096); // limits.maxConnections 500 and the deliveries need about 1 128
        await mx.StartAsync();

        var limits = await File.ReadAllLinesAsync($"/proc/{mx.Pid}/limits");
        Assert.Matches(@"^Max open files\s+4096\s+4096\s", limits.Single(l => l.StartsWith("Max open files", StringComparison.Ordinal)));
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "a@outside.test", "alice@example.test", "limit-enough")).Acknowledged);
        Assert.DoesNotContain("open-file limit", mx.Log);
    }

    [Fact]
    public async Task OutOfDescriptorsANewConnectionWaitsAndIsServedOnceSessionsEnd()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test"], configure: cfg =>
        {
            cfg["limits"]!["maxConnections"] = 2000;
            cfg["limits"]!["maxConnectionsPerIp"] = 2000;
        });
        mx.OpenFileLimit = (300, 300); // an idle server holds about 200: room for some 100 sessions
        var metrics = Net.FreeEndpoint();
        await mx.StartAsync("--metrics", Net.Text(metrics));
        await mx.WaitForLogAsync("the open-file limit is 300, below the");
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "before@outside.test", "alice@example.test", "before-the-limit")).Acknowledged);
        // Delivered before the descriptors run out (a delivery short of one is deferred and retried a minute later).
        await mx.WaitForMessageAsync("alice@example.test", "before-the-limit");

        var held = new List<TcpClient>();
        try
        {
            for (int i = 0; i < 250; i++)
            {
                var c = new TcpClient();
                await c.ConnectAsync(mx.Mx.Address, mx.Mx.Port); // completed by the kernel, accepted or not
                held.Add(c);
            }
            await mx.WaitForLogAsync("accepting connections on the mx listener fails: out of file descriptors");

            // Waits in the listen queue: no greeting while every descriptor is taken.
            var waiting = SmtpProbe.SendAsync(mx.Mx, "waiting@outside.test", "alice@example.test", "waited-for-a-descriptor");
            Assert.NotSame(waiting, await Task.WhenAny(waiting, Task.Delay(TimeSpan.FromSeconds(2))));

            foreach (var c in held) c.Dispose();
            held.Clear();
            var sent = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(sent.Acknowledged, sent.ToString());
        }
        finally
        {
            foreach (var c in held) c.Dispose();
        }

        await mx.WaitForMessageAsync("alice@example.test", "waited-for-a-descriptor");
        // The episode ends with an accept after AcceptFailureLog.QuietPeriod (10 s) without a failure.
        await Task.Delay(TimeSpan.FromSeconds(11));
        Assert.True((await SmtpProbe.SendAsync(mx.Mx, "after@outside.test", "alice@example.test", "after-the-limit")).Acknowledged);
        await mx.WaitForLogAsync("accepting connections on the mx listener works again");
        // One line for the whole episode, though accepts succeeded now and then while sessions ended.
        Assert.Single(mx.Log.Split('\n'), l => l.Contains("listener fails: out of file descriptors", StringComparison.Ordinal));
        await mx.WaitForMessageAsync("alice@example.test", "after-the-limit");
        Assert.Equal(3, mx.Messages("alice@example.test").Length);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(20) };
        var exposition = await http.GetStringAsync($"http://{Net.Text(metrics)}/metrics");
        var failed = Regex.Match(exposition, @"^securemx_smtp_accept_failures_total\{error=""TooManyOpenSockets"",listener=""mx""[^}]*\} (\d+)", RegexOptions.Multiline);
        Assert.True(failed.Success, exposition);
        Assert.True(int.Parse(failed.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }
}
