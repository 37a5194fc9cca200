using System.Net;
using System.Net.Sockets;
using SecureMx.IntegrationTests.Support;

namespace SecureMx.IntegrationTests.Cli;

/// <summary>securemx admin and securemx domain admin (operators' scripts), and serve's dashboard listener.</summary>
public sealed class RoleCommandTests
{
    [Fact]
    public async Task AdminAndDomainAdminCommandsAddListRemoveAndRefuseMistakes()
    {
        await using var mx = await SecureMxInstance.CreateAsync("example.test", ["alice@example.test", "bob@example.test"]);
        Assert.Equal("alice@example.test is now a system administrator\n", (await mx.Cli("admin", "add", "Alice@example.test")).StdOut);
        Assert.Equal("alice@example.test\n", (await mx.Cli("admin", "list")).StdOut);
        Assert.Equal("bob@example.test now administers example.test\n", (await mx.Cli("domain", "admin", "add", "example.test", "bob@example.test")).StdOut);
        Assert.Equal("bob@example.test\n", (await mx.Cli("domain", "admin", "list", "example.test")).StdOut);

        var missing = await mx.Cli("admin", "add", "nobody@example.test");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("mailbox nobody@example.test does not exist", missing.StdErr);
        var foreign = await mx.Cli("domain", "admin", "add", "other.test", "bob@example.test");
        Assert.Equal(1, foreign.ExitCode);
        Assert.Contains("not hosted", foreign.StdErr);
        var twice = await mx.Cli("domain", "admin", "add", "example.test", "bob@example.test");
        Assert.Equal(1, twice.ExitCode);
        Assert.Contains("already", twice.StdErr);

        var audit = (await mx.Cli("policy", "show", "example.test")).StdOut;
        Assert.Contains("domain_admin", audit);

        await mx.CliOk("domain", "admin", "remove", "example.test", "bob@example.test");
        await mx.CliOk("admin", "remove", "alice@example.test");
        Assert.Equal("", (await mx.Cli("admin", "list")).StdOut);
        Assert.Equal("", (await mx.Cli("domain", "admin", "list", "example.test")).StdOut);
        var gone = await mx.Cli("admin", "remove", "alice@example.test");
        Assert.Equal(1, gone.ExitCode);
    }

    [Fact]
    public async Task ServeFailsClearlyWhenTheDashboardPortIsTaken()
    {
        using var squatter = new Socket(SocketType.Stream, ProtocolType.Tcp);
        squatter.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        squatter.Listen();
        var taken = (IPEndPoint)squatter.LocalEndPoint!;
        await using var mx = await SecureMxInstance.CreateAsync(configure: cfg => cfg["listeners"]!["dashboard"] = $"127.0.0.1:{taken.Port}");
        var r = await mx.Cli("serve");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"listeners.dashboard: cannot listen on 127.0.0.1:{taken.Port}", r.StdErr);
    }

    [Fact]
    public async Task PlainHttpDashboardIsRefusedOffLoopback()
    {
        // Made invalid after the instance is made: `mailbox add` reads securemx.json as well and would refuse first.
        await using var mx = await SecureMxInstance.CreateAsync();
        var cfgPath = Path.Combine(mx.DataDir, "securemx.json");
        var cfg = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(cfgPath))!;
        cfg["listeners"]!["dashboard"] = "0.0.0.0:18080";
        cfg["dashboard"] = new System.Text.Json.Nodes.JsonObject { ["plainHttp"] = true };
        await File.WriteAllTextAsync(cfgPath, cfg.ToJsonString());
        var r = await mx.Cli("serve");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("dashboard.plainHttp: only on a loopback address", r.StdErr);
    }
}
